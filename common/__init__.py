"""Pure, standard-library modules both environments import (Rasa's and the action server's)."""
