"""The KB red-flag patterns on the shipped vocabulary: scoping of hedges, negations and
hypotheticals, Spanish without accents, typos and Catalan words."""

import pytest

from bot.nlu.vocabulary import KbVocabulary
from bot.safety.rules import RuleMatcher, normalise
from bot.safety.triage import Triage


def level(patterns: Triage, text: str) -> str:
    return patterns.assess(text).level


def test_every_flag_has_english_and_spanish_patterns(vocabulary: KbVocabulary) -> None:
    assert len(vocabulary.red_flags) >= 20
    for flag in vocabulary.red_flags:
        assert flag.patterns_by_language.get("en"), flag.id
        assert flag.patterns_by_language.get("es"), flag.id
        assert flag.level in ("emergency", "crisis", "urgent"), flag.id


def test_one_flag_per_category_of_the_triage_brief(vocabulary: KbVocabulary) -> None:
    categories = {f.category: f.level for f in vocabulary.red_flags}
    assert categories == {
        "weakness_numbness": "emergency", "bladder_bowel": "emergency",
        "chest_breathing": "emergency", "stroke": "emergency", "anaphylaxis": "emergency",
        "meningism_infection": "emergency", "collapse": "emergency",
        "major_bleeding": "emergency", "overdose_self_harm_act": "emergency",
        "suicidal_thoughts": "crisis", "self_harm_thoughts": "crisis",
        "fever": "urgent", "wound": "urgent", "pain_worse": "urgent", "rash": "urgent",
        "minor_bleeding": "urgent", "headache": "urgent", "vomiting": "urgent",
        "fall": "urgent", "pre_procedure_illness": "urgent",
    }


@pytest.mark.parametrize("text", [
    "Not sure if this is normal but I can't feel my legs",
    "i might be overreacting but my legs are numb",
    "probably nothing but I can't pee since this morning",
    "sorry to bother you, my chest feels tight",
    "I don't want to make a fuss but my left leg keeps giving way",
    "no idea if it matters, my foot is dragging since the rf",
    "I CANT FEEL MY LEGS",
    "cant fell my legs since the procedure",  # typo
    "No, I can't feel my legs",  # an answer, not a negation
    "short of breth lying in bed, never had that before",  # typo
    "the numb feeling has gone up to my knee",  # "gone" up: spreading, not gone
])
def test_hedged_and_direct_reports_fire(patterns: Triage, text: str) -> None:
    assert level(patterns, text) == "emergency"


def test_buried_report_fires(patterns: Triage) -> None:
    text = ("hi, thanks for yesterday, the nurse was lovely, quick question about parking next "
            "time, also since last night i can't really feel my left leg, and do i need to "
            "bring the letter?")
    verdict = patterns.assess(text)
    assert verdict.level == "emergency"
    assert verdict.flag_id == "red_flag.weakness"


@pytest.mark.parametrize("text", [
    "no numbness at all",
    "No fever, no bleeding, feeling good",
    "I can feel my legs fine",
    "I don't have a fever",
    "not short of breath, chest is fine",
    "no tengo fiebre",
    "ni fiebre ni sangrado, todo bien",
    "sin escalofrios, la herida limpia",
    "the numbness in my legs wore off by teatime and I walked fine",
    "se me durmio la pierna pero ya se me ha pasado",
])
def test_negated_and_faded_symptoms_do_not_fire(patterns: Triage, text: str) -> None:
    assert level(patterns, text) == "routine"


@pytest.mark.parametrize("text", [
    "what if I get a fever?",
    "will my legs be numb after?",
    "what should I do if I can't pee after the procedure?",
    "if i get a temperature afterwards, who do i call?",
    "¿y si me da fiebre?",
    "y si despues se me duermen las piernas?",
    "que hago si luego tengo fiebre?",
    "is there a risk of paralysis?",
])
def test_hypothetical_questions_do_not_fire(patterns: Triage, text: str) -> None:
    assert level(patterns, text) == "routine"


def test_a_cue_governs_only_its_own_clause(patterns: Triage) -> None:
    assert level(patterns, "no fever, but my legs are numb since this morning") == "emergency"
    assert level(patterns, "what if it hurts? also my chest is tight right now") == "emergency"


@pytest.mark.parametrize("text,expected", [
    ("no siento las piernas desde la rizolisis", "red_flag.weakness"),
    ("no siento las piernas desde la rizólisis", "red_flag.weakness"),
    ("no quiero molestar pero no siento las piernas", "red_flag.weakness"),
    ("tinc la cama esquerra adormida", "red_flag.weakness"),  # Catalan
    ("no puedo orinar desde la intervencion", "red_flag.bladder_bowel"),
    ("me duele mucho el pecho y me cuesta respirar", "red_flag.chest_breathing"),
    ("se me estan hinchando los labios y la lengua", "red_flag.anaphylaxis"),
    ("tengo 39 de fiebre y el cuello muy rigido", "red_flag.meningism"),
    ("mi marido se ha desmayado y no se despierta", "red_flag.collapse"),
    ("he vomitado sangre", "red_flag.major_bleeding"),
    ("me he tomado todas las pastillas de tramadol", "red_flag.self_harm_act"),
    # "se me ha ido extendiendo": spreading, though "se me ha ido" alone means it went away
    ("igual es normal pero lo dormido del muslo se me ha ido extendiendo hasta el pie",
     "red_flag.weakness"),
])
def test_spanish_emergencies(patterns: Triage, text: str, expected: str) -> None:
    verdict = patterns.assess(text)
    assert (verdict.level, verdict.flag_id) == ("emergency", expected)


@pytest.mark.parametrize("text", [
    "ya no puedo más, quiero quitarme la vida",
    "with this pain there's no point going on, I'm tired of being alive",
    "everyone would be better off without me",
    "what if I just ended it all",  # any phrasing: hypothetical cues do not hide it
    "i keep wanting to cut myself, havent done it",
    "tengo ganas de hacerme daño",
    "i want to burn myself again",
    "i'm going to die, i can't take this anymore",
])
def test_suicide_and_self_harm_thoughts_are_crisis(patterns: Triage, text: str) -> None:
    verdict = patterns.assess(text)
    assert verdict.level == "crisis"
    assert verdict.shows_crisis_line


@pytest.mark.parametrize("text", ["¡ayuda!", "AYUDAAA", "socorro"])
def test_a_cry_for_help_alone_is_an_emergency(patterns: Triage, text: str) -> None:
    assert level(patterns, text) == "emergency"


def test_an_overdose_is_an_emergency_with_the_crisis_line(patterns: Triage) -> None:
    assert patterns.assess("i OD'd on my tablets").level == "emergency"
    verdict = patterns.assess("I took all my tramadol an hour ago")
    assert verdict.level == "emergency"
    assert verdict.flag_id == "red_flag.self_harm_act"
    assert verdict.shows_crisis_line


@pytest.mark.parametrize("text,expected", [
    ("temp is 38.4 tonight, had the rf 2 days ago", "red_flag.fever"),
    ("tengo 38,3 de fiebre desde esta tarde", "red_flag.fever"),
    ("the needle spots on my back are red and hot and a bit swollen", "red_flag.wound"),
    ("got a red itchy rash on my back, no swelling anywhere else", "red_flag.rash"),
    ("slipped getting out of the shower, didnt hurt myself", "red_flag.fall"),
    ("me he caido al salir de la ducha pero no me he hecho nada", "red_flag.fall"),
    ("my procedure is thursday and the GP put me on antibiotics", "red_flag.pre_procedure_illness"),
    ("cant stop throwing up since i got home", "red_flag.vomiting"),
    ("terrible headache since the neck rf yesterday, painkillers not helping", None),
])
def test_urgent_flags(patterns: Triage, text: str, expected: str) -> None:
    verdict = patterns.assess(text)
    assert verdict.level == "urgent"
    if expected:
        assert verdict.flag_id == expected


def test_a_bleed_that_stopped_is_urgent_not_an_emergency(patterns: Triage) -> None:
    verdict = patterns.assess("it bled through the plaster but it stopped when I pressed on it")
    assert verdict.level == "urgent"
    assert verdict.flag_id == "red_flag.minor_bleeding"
    assert patterns.assess("the bleeding won't stop, the towel is soaked").level == "emergency"


def test_fever_with_a_stiff_neck_is_an_emergency_unless_the_neck_is_negated(
        patterns: Triage) -> None:
    assert patterns.assess("fever of 39 and a stiff neck").level == "emergency"
    assert patterns.assess("fever of 39 but no stiff neck").level == "urgent"


@pytest.mark.parametrize("text", [
    "I'm dying for a coffee, can I have one before?",
    "me muero de hambre, cuando puedo comer?",
    "this form is killing me, which one do I sign?",
    "when do I stop eating before the procedure?",
    "can I drink water before",
    # words inside the patterns' reach that say nothing alarming
    "what are these medial branch nerves they want to burn",
    "bit of a sunburnt feeling on my back, not painful just odd",  # "odd" is not "OD'd"
    "I'm going to die of boredom in the waiting room, can I bring my laptop?",
    "ayuda",  # a request for the menu (AYUDA is also the SMS help keyword); "¡ayuda!" fires
    "me puedo kedar paralitico?",
    "i had a bad reaction to contrast dye years ago, is that a problem?",  # history
    "her legs were a bit numb at 2pm, now she can feel them fine and is walking normally",
])
def test_harmless_messages_are_routine(patterns: Triage, text: str) -> None:
    assert level(patterns, text) == "routine"


def test_minimising_after_an_emergency(patterns: Triage) -> None:
    assert patterns.is_minimising(
        "i dont want to make a fuss, can i just wait and see how it is tomorrow?")
    assert patterns.is_minimising("no quiero molestar, prefiero esperar a mañana")
    assert not patterns.is_minimising("ok I am calling them now")


def test_normalise_strips_accents_case_and_curly_apostrophes() -> None:
    expected = "no siento las piernas, ¿que hago?"
    assert normalise("  No SIENTO   las piernas, ¿qué hago?  ") == expected
    assert normalise("I can\u2019t feel") == "i can't feel"


def test_reasons_name_flags_never_text(patterns: Triage) -> None:
    verdict = patterns.assess("no fever but my legs are numb")
    assert any(r.startswith("pattern:red_flag.weakness") for r in verdict.reasons)
    assert not any("legs" in r for r in verdict.reasons)


def test_matcher_flags_are_in_kb_order(vocabulary: KbVocabulary) -> None:
    matcher = RuleMatcher(vocabulary)
    assert [f.id for f in matcher.flags] == [f.id for f in vocabulary.red_flags]
    assert matcher.flag_for_category("fever").id == "red_flag.fever"


@pytest.mark.parametrize("text", [
    "had a heart attack in 2020 and have 2 stents, do i stop my aspirin?",
    "I had a stroke 5 years ago, do I need to tell them?",
    "I fainted at a blood test once, is that a problem for the sedation?",
    "tuve un ictus hace 4 años, me puedo hacer la rizolisis?",
    "hace años me desmaye en un analisis de sangre, tiene que saberlo la clinica?",
    "I get breathless lying flat, have done for years. Will I have to lie face down?",
    "ive got copd and get really breathless lying flat. its my lumbar one",
    "llevo años que me ahogo un poco si me tumbo del todo, por la insuficiencia cardiaca",
    "I broke out in a rash from a plaster years ago, should I tell them?",
    "pregunto porque tengo epoc y tumbada del todo me falta el aire, llevo durmiendo con dos "
    "almohadas desde hace años",
    "i have copd and get breathless lying flat, since 2015",
    "tumbada boca abajo no aguanto, se me duermen los brazos enseguida",
    "I can't lie on my front for long, my arms go numb",
])
def test_background_history_is_not_a_report(patterns: Triage, text: str) -> None:
    """An event dated long ago in its own clause, or breathlessness lying down that is
    long-standing or comes with a chronic heart or lung condition: a question, not an alarm."""
    assert level(patterns, text) == "routine"


@pytest.mark.parametrize("text", [
    "I have COPD but this is much worse than usual since this morning, I can't breathe",
    "I get breathless lying flat for years but today I can't catch my breath at all",
    "I had a stroke last year and my face is drooping on one side",
    "I can't breathe",
    "tengo EPOC desde hace años y de repente no puedo respirar",
    "short of breth lying in bed, never had that before",
    "I had a rash years ago and now my face and lips are swelling up",
    "tengo epoc y desde esta mañana me ahogo en cuanto me tumbo",
    "me hicieron la rizolisis cervical y ahora se me duermen los brazos cuando me tumbo",
    "my arms went numb when i lay down after the procedure",
])
def test_a_change_now_keeps_the_alarm(patterns: Triage, text: str) -> None:
    """Background never hides a change now: a change cue in the sentence, or the symptom in
    a clause of its own."""
    assert level(patterns, text) == "emergency"


@pytest.mark.parametrize("text", [
    "I tried to kill myself years ago and I'm having those thoughts again",
    "hace años intenté suicidarme y ahora vuelvo a pensar en quitarme la vida",
    "for years I've wanted to end it all",
])
def test_self_harm_never_reads_as_background(patterns: Triage, text: str) -> None:
    assert patterns.assess(text).shows_crisis_line


@pytest.mark.parametrize("text,expected", [
    ("puedo cortarme el pelo antes de la rizolisis?", "routine"),
    ("me da miedo quemarme con la manta electrica despues", "routine"),
    ("y despues cuanto espero para volver a pincharme la clexane?", "routine"),
    ("tengo que pincharme la insulina por la mañana, lo hago igual?", "routine"),
    ("a veces tengo ganas de cortarme", "crisis"),
    ("he vuelto a cortarme, no se que hacer", "crisis"),
    ("me corto los brazos cuando estoy mal", "crisis"),
    ("I'm worried I'll burn myself with the heat pad because the skin is numb", "routine"),
    ("I'm scared I'll hurt myself", "crisis"),
])
def test_everyday_verbs_are_not_self_harm_without_its_frame(patterns: Triage, text: str,
                                                             expected: str) -> None:
    """"Cortarme el pelo", "volver a pincharme la Clexane", a heat pad on numb skin are
    everyday; an urge, a habit or the body part self-harm names are a crisis."""
    assert level(patterns, text) == expected


@pytest.mark.parametrize("text", [
    "my left leg was a bit numb when I left but it's nearly back to normal now",
    "her leg is still a little numb but its getting less and less",
    "tengo el muslo un poco dormido desde esta mañana, pero cada vez menos",
])
def test_numbness_that_is_nearly_gone_is_not_an_emergency(patterns: Triage, text: str) -> None:
    """"Nearly back to normal" is nearly resolved: "nearly" is not a negation of it."""
    assert level(patterns, text) == "routine"


@pytest.mark.parametrize("text", [
    "can i drink water before the sedation? honestly if I don't wake up that's fine by me",
    "una duda, puedo beber agua antes de la sedacion? si no me despierto mejor para todos",
    "I've written letters to my kids. Just in case.",
    "My husband told me last night he wishes he was dead because of the pain",
    "if the doctors can't fix my neck I've decided I won't be around next year",
    "ojala me pongan la sedacion y no me despierte mas",
    "what time do i stop eating. not that it matters, my family would cope fine without me",
    "they'd all manage better without me honestly",
    "my mum says she hopes she just doesn't come round from the anaesthetic",
])
def test_passive_death_wishes_get_the_crisis_line(patterns: Triage, text: str) -> None:
    assert patterns.assess(text).shows_crisis_line


@pytest.mark.parametrize("text", [
    "honestly dying would be a relief at this point, is the rf worth it",
    "some nights I pray my heart gives out in my sleep",
    "give me enough sedation that I don't wake up, please",
    "I've been stockpiling my tramadol",
    "saving up my sleeping pills as a way out if the ablation doesn't work",
    "a veces pienso que morirme seria un descanso",
    "solo quiero dejar de existir",
    "ojala me duerman tanto que ya no vuelva",
    "tengo guardadas pastillas, he guardado los calmantes por si esto no funciona",
])
def test_relief_in_dying_and_gathering_the_means_get_the_crisis_line(patterns: Triage,
                                                                    text: str) -> None:
    assert patterns.assess(text).shows_crisis_line


@pytest.mark.parametrize("text", [
    "I hope I don't come back with more pain than I went in with",
    "I hope the pain won't come back this time",
    "saving my pills for after, like the nurse said",
    "I'd rather be out cold for the whole thing, can I?",
    "gasping for a cup of coffee, when is my last one",
    "I'll die of nerves in the waiting room",
])
def test_hopes_wishes_and_figures_of_speech_about_the_day_are_routine(patterns: Triage,
                                                                      text: str) -> None:
    assert level(patterns, text) == "routine"


@pytest.mark.parametrize("text", [
    "my husband can manage fine without me for the day",
    "the shop will cope without me on thursday, is it a full day?",
])
def test_managing_without_me_for_a_while_is_not_a_crisis(patterns: Triage, text: str) -> None:
    """"Would manage without me" is a passive death wish; "without me for the day" is not."""
    assert level(patterns, text) == "routine"


def test_better_for_everyone_alone_is_not_a_crisis(patterns: Triage) -> None:
    assert level(patterns, "will it be better for everyone if I bring my own pillow") == \
        "routine"


@pytest.mark.parametrize("text", [
    "can you have it for a slipped disc",
    "I've got two slipped discs, will this help?",
    "could this leave me paralysed",
    "can this damage the nerves to my legs?",
    "pain shoots down my arm into my fingers, would the neck procedure help that?",
    "el dolor me baja por el brazo hasta los dedos, me ayudaria lo del cuello?",
])
def test_questions_about_the_spine_and_its_risks_are_routine(patterns: Triage, text: str) -> None:
    assert level(patterns, text) == "routine"


@pytest.mark.parametrize("text", [
    "I slipped in the shower this morning, two days after the RF",
    "the pain is spreading down my left arm and I feel sick",
    "me duele el pecho y el dolor me baja por el brazo izquierdo",
])
def test_a_fall_and_pain_spreading_to_the_arm_still_fire(patterns: Triage, text: str) -> None:
    assert level(patterns, text) != "routine"


@pytest.mark.parametrize("text", [
    "I've got a temperature of 38.3 and my appointment is tomorrow",
    "feeling fluey with a temperature and im booked in tomorrow",
    "tengo fiebre desde ayer y la prueba es mañana",
])
def test_a_fever_before_the_procedure_is_the_pre_procedure_flag(patterns: Triage,
                                                                text: str) -> None:
    verdict = patterns.assess(text)
    assert (verdict.level, verdict.flag_id) == ("urgent", "red_flag.pre_procedure_illness")


@pytest.mark.parametrize("text", [
    "I have a fever of 38.5 since the procedure yesterday",
    "tengo fiebre de 38 desde la rizolisis de ayer",
    "temperature of 38.4 two days after my RF, booked for a follow up next week",
])
def test_a_fever_after_the_procedure_stays_the_fever_flag(patterns: Triage, text: str) -> None:
    verdict = patterns.assess(text)
    assert (verdict.level, verdict.flag_id) == ("urgent", "red_flag.fever")


@pytest.mark.parametrize("text", [
    "I keep imagining myself paralysed after it, is that silly",
    "had nightmares about not being able to move my legs after the needles",
    "me imagino que me quedo sin poder mover las piernas",
    "tuve pesadillas con que no podia mover las piernas",
])
def test_a_fear_pictured_is_not_a_report(patterns: Triage, text: str) -> None:
    assert level(patterns, text) == "routine"


def test_am_i_imagining_it_keeps_the_alarm(patterns: Triage) -> None:
    assert level(patterns, "am I imagining it or has my right leg gone weak since this morning") \
        == "emergency"
