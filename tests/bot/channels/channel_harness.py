"""Harness for the channel tests: the real Sanic app wiring, a fake agent, no trained model.

(A plain module rather than conftest.py content so that test modules can import its types.)

Rasa attaches channels with rasa.core.channels.channel.register(), whose handler calls
`app.ctx.agent.handle_message`, and it applies its app-wide Sanic-Cors setup
(rasa.server.configure_cors). The harness does exactly that with a FakeAgent whose
handle_message records every UserMessage, answers through the message's output channel (like
Rasa's processor) and keeps a real InMemoryTrackerStore, so /history reads real tracker events.
The app runs on a loopback port in a background thread; tests talk to it with `requests`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, Iterator, List

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from rasa.core.channels.channel import InputChannel, UserMessage, register  # noqa: E402
from rasa.core.tracker_store import InMemoryTrackerStore  # noqa: E402
from rasa.server import configure_cors  # noqa: E402
from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import BotUttered, UserUttered  # noqa: E402
from sanic import Sanic  # noqa: E402

from bot.channels.clinic_profile import ClinicProfile  # noqa: E402

CLINIC = ClinicProfile(name="Test Spine Clinic", phone="+1 555 010 0199", emergency_number="911",
                       crisis_line="988", default_language="en")

Reply = Dict[str, Any]
Responder = Callable[[UserMessage], Awaitable[List[Reply]]]


async def echo_responder(message: UserMessage) -> List[Reply]:
    """Default bot: echoes the text (enough to see what reached Rasa)."""
    return [{"text": f"You said: {message.text}"}]


@dataclass
class FakeAgent:
    """Stands in for rasa.core.agent.Agent: records turns, replies, stores tracker events."""

    responder: Responder = echo_responder
    received: List[UserMessage] = field(default_factory=list)
    finished: List[UserMessage] = field(default_factory=list)
    tracker_store: InMemoryTrackerStore = field(
        default_factory=lambda: InMemoryTrackerStore(Domain.empty())
    )

    async def handle_message(self, message: UserMessage) -> None:
        """Like MessageProcessor.handle_message: user event, bot messages, tracker saved."""
        self.received.append(message)
        tracker = await self.tracker_store.get_or_create_tracker(message.sender_id)
        tracker.update(UserUttered(message.text, input_channel=message.input_channel))
        for reply in await self.responder(message):
            await message.output_channel.send_response(message.sender_id, dict(reply))
            data = {key: value for key, value in reply.items() if key != "text"}
            tracker.update(BotUttered(reply.get("text"), data=data))
        await self.tracker_store.save(tracker)
        self.finished.append(message)


def free_port() -> int:
    """A currently unused loopback TCP port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RunningApp:
    """A channel served on loopback, plus the fake agent behind it."""

    base_url: str
    agent: FakeAgent
    app: Sanic


def serve(channel: InputChannel, agent: FakeAgent) -> Iterator[RunningApp]:
    """Serve one channel the way `rasa run` does (register + CORS) until the generator closes."""
    # test_mode: Sanic 21.12 rewrites its own methods at the first start-up ("TouchUp") and
    # fails at the second one in the same process unless it keeps the originals.
    Sanic.test_mode = True
    app = Sanic(f"channel_test_{uuid.uuid4().hex}", configure_logging=False)
    configure_cors(app, None)  # what `rasa run` does without --cors
    app.ctx.agent = agent
    register([channel], app, route="/webhooks/")
    port = free_port()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: Dict[str, Any] = {}

    async def main() -> None:
        server = await app.create_server(
            host="127.0.0.1", port=port, return_asyncio_server=True
        )
        assert server is not None
        await server.startup()
        await server.before_start()
        await server.after_start()
        holder["server"] = server
        started.set()
        await server.serve_forever()

    def run() -> None:
        asyncio.set_event_loop(loop)
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(15), "the test server did not start"
    try:
        yield RunningApp(f"http://127.0.0.1:{port}", agent, app)
    finally:
        server = holder["server"]

        async def stop() -> None:
            server.close()
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(lambda: [task.cancel() for task in asyncio.all_tasks(loop)])
        thread.join(10)
