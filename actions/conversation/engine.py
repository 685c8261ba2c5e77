"""The conversation engine: decide the reply to one patient message.

Why a pure function of (KB snapshot, message, state, now): every behaviour patients need —
follow-ups resolved against the last topic, corrections that replace, several questions in one
message, short answers with "tell me more", questions that never loop — is decided here in
plain Python, so it is testable without Rasa and runs in one action call per turn.

Order of decisions for a message:
1. its facts (medicines, site, appointment) are merged into the state (actions/.../facts.py);
2. an open question the assistant asked is answered, re-asked (twice at most, then explained
   with an example), or left when the patient asks something else;
3. "tell me more" gives the last answer's detail;
4. the topics asked: several (one per `topic` entity), one (the intent), or, for a follow-up or
   an unclear message, the last topic's cue words, then any topic's;
5. each topic is answered with its most specific text (cue words), for the patient's site and
   clinic settings, with their own dates once the appointment is known;
6. nothing placed: the closest topics as quick replies; a second miss offers a person.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from typing import Any, Optional

from actions.conversation import facts as facts_mod
from actions.conversation.cues import FOLLOW_UP_WORDS, Cues, mentions
from actions.conversation.medicine import (
    BLEEDING_CLASSES,
    MedicineWording,
    drug_name,
    echo_safe,
    is_bleeding_drug,
    same_rule_everywhere,
)
from actions.conversation.plan import (
    ARRIVAL_PLAN_KEY,
    TIME_ONLY,
    PlanWording,
    appointment_context,
    plan_context,
    procedure_start,
)
from actions.conversation.turn import TOPIC_ENTITY, Pending, State, Turn
from actions.conversation.writer import Button, Message, Piece, Writer
from actions.kb.loader import SHORT_LIMIT, SMS_SEGMENT
from actions.kb.registry import AnswerSpec, Need, SiteUse, TopicKind, TopicSpec
from actions.kb.snapshot import KbSnapshot

CONFIDENT = 0.55  # a topic intent below this needs support (cues, context) to be answered
# A topic intent no word of the message supports (no cue, no content word, no drug) is
# answered from CONFIDENT on, except a message that only points at something unnamed ("wht
# abt the thng frm b4") below this. Below CONFIDENT, an unsupported intent is not answered;
# the last topic's cue wins over an unsupported intent below this too.
UNSUPPORTED_OK = 0.8
# A second question of a message whose whole-message score is below this, and whose part has
# no word of its topic, is a statement read as a question ("tengo hernia de hiato"): not added.
SECONDARY_SUPPORT = 0.1
# "cuanto tiempo mas o menos" after a question: how long, of the question before it, when at
# most this many words are left besides the how-long words
HOW_LONG_ALONE_WORDS = 3
RUNNER_UP_SUPPORT = 0.15  # a second choice this likely whose cue the message names
STATED_SUPPORT = 0.3  # the same for a part that does not ask (no "?", no question word)
# Topics a message naming a blood thinner may well be about (not re-routed to the drug).
# Intents of a message that tells rather than asks ("la cita es a las 9 y media")
TELLING_INTENTS = frozenset({"inform", "ask_logistics", ""})
# The screening item a named catalogue drug already answers better (its own hold rule)
BLOOD_THINNER_SCREENING = "screening.blood_thinners"
DRUG_FRIENDLY_TOPICS = frozenset({"plan", "medications", "illness", "human", "anxiety",
                                  "fasting", "recovery", "risks"})
DRUG_TOPIC_MIN_SCORE = 0.05  # blood thinners among the closest topics at least this likely
# Topics whose answers the checklist contains: asked for "all written down", the plan.
PLAN_PARTS = frozenset({"fasting", "logistics"})
TABLETS_ANSWER = "medicines"  # the fasting answer about tablets with a sip (fasting.<this>)
MORE_ABOUT_THAT_WORDS = 10  # "could you go over that in a bit more detail": still "more"
SHORT_REPLY = SHORT_LIMIT  # one question: two SMS segments (306 GSM-7 characters)
LONG_REPLY = 3 * SMS_SEGMENT  # several questions: three segments (459)
GOES_ON_WORDS = 10  # "how long will the bruising hang around for", "what if I panic on the
# table": short enough to go on with the last answer (a new question is longer)
RESTART_PIECE = "plan.restart_after_hold"  # the restart date in a dated drug answer
SUGGESTIONS = 3  # quick replies after a miss
MAX_TOPICS = 3  # topics answered from one message (a multi-topic reply stays short)
MAX_ATTEMPTS = 2  # unusable answers to one question before explaining it with an example
CONVERSATION_INTENTS = {
    "greet": "assistant.greet", "goodbye": "assistant.goodbye", "thank": "assistant.thanks",
    "bot_challenge": "assistant.disclosure", "ask_capabilities": "assistant.capabilities",
    "out_of_scope": "assistant.out_of_scope",
}
ANSWER_INTENTS = {"inform", "affirm", "deny", "nlu_fallback"}
CHAT_MIN, CHAT_LEAD = 0.4, 0.2  # a thank-you or greeting below CONFIDENT, clearly ahead
ANSWERED, ASKED, UNUSABLE = "answered", "asked", "unusable"  # what a reply did to a question
# Screening conditions a medicine answer already covers (diabetes: the diabetes-medicine
# answer; blood thinners: the blood-thinner answer).
MEDICINE_SCREENING = frozenset({"screening.diabetes", "screening.blood_thinners"})
# Medicine answers that are the same text whatever the drug ("who decides?", "I forgot").
INR_KEY = "blood_thinners.inr"
WHO_DECIDES_KEY = "blood_thinners.who_decides"
BARE_FOLLOW_UP_WORDS = 3  # "and infection?", "what about water": the follow-up word alone
TIME_ONLY_WORDS = 5  # "8am i think", "its 10.30 actually": a time that is all the message says
GENERIC_FOLLOW_UP_WORDS = 3  # "so what do I do?" leans on the last answer; "ok?" does not
PAUSABLE_QUESTIONS = frozenset({"site", "medication"})  # wait through one other question
GENERAL_MEDICINE_KEYS = frozenset({
    "blood_thinners.missed_dose", "blood_thinners.prescriber_forbids", "blood_thinners.bridging",
    "blood_thinners.why", "blood_thinners.two_medicines", WHO_DECIDES_KEY})
CLASS_ANSWERS = {"glp1_agonist": "medications.glp1", "sglt2_inhibitor": "medications.diabetes",
                 "oral_antidiabetic": "medications.diabetes",
                 "insulin": "medications.diabetes"}


@dataclass
class Request:
    """One topic to answer in this reply."""

    topic: TopicSpec
    answer: AnswerSpec
    explicit: bool = True  # the patient's words named it (not a resumed or guessed topic)
    implied: bool = False  # a general answer for a question part without a cue word
    part: Optional[tuple[int, int]] = None  # where in the message it was asked


@dataclass
class Outcome:
    """The reply and the new state."""

    messages: list[Message]
    state: State
    topics: list[str] = field(default_factory=list)  # answered topic ids (for tests, logs)
    language: str = ""  # the language the reply is in


class Engine:
    """Answers one message; construct per turn."""

    def __init__(self, kb: KbSnapshot, turn: Turn, state: State, now: dt.datetime) -> None:
        self.kb = kb
        self.turn = turn
        self.before = state
        self.state = state
        self.now = now
        self.writer = Writer(kb, turn.language)
        self.cues = Cues(kb.registry, turn.language)
        self.medicine = MedicineWording(kb, self.writer)
        self.plans = PlanWording(kb, self.writer)
        self.hypothetical_site: Optional[str] = None
        self.pieces: list[list[Piece]] = []  # one list per message
        self.buttons: list[Button] = []
        self.answered: list[str] = []
        self.more_asked = False  # "can you explain that a bit more?" (see _requests)
        self.timed_this_reply = False  # this reply gave an answer with clock times

    # ------------------------------------------------------------------ entry point
    def respond(self) -> Outcome:
        """The reply to the turn's message."""
        facts = facts_mod.read_facts(self.kb, self.turn, self.cues, self.now)
        self.facts = facts
        pending = self.state.pending
        if self.cues.requested_language(self.turn.text) and (
                self.cues.is_short(self.turn.text) or not self._names_a_topic()):
            # "English please", "sorry my spanish is not good, can we talk in english?": the
            # gate already switched the conversation's language; a question with it is answered
            self._language_switched()
            return self._finish()
        self._merge(facts, pending)
        requests = self._requests(facts)
        if pending is not None and self._handle_pending(pending, facts, requests):
            return self._finish()
        again = self._asked_again() if pending is None else None
        if again is not None:
            self._answer_all([again])
            return self._finish()
        unsure_more = self.turn.confidence < CONFIDENT and bool(requests)  # "and restart?"
        # "and liquids" after the fasting answer, read as "tell me more": the answer it names
        unsure_more = unsure_more or self._names_an_answer_of_the_last(requests)
        if (self.turn.intent == "ask_more" and not unsure_more) or self.more_asked or (
                not requests and self.cues.wants_more(self.turn.text)
                and self.cues.is_short(self.turn.text)):
            self._more()
            return self._finish()
        if requests:
            self._answer_all(requests)
            return self._finish()
        self._without_topic(facts)
        return self._finish()

    def keep_facts(self) -> Outcome:
        """Only what the message tells (site, appointment, medicines, driver, kidneys), no
        reply: for a message the safety gate answered, so a crisis message that also gives the
        appointment time does not lose it. The question that was pending is dropped (the
        alarm came in between); a plan asked for still goes on (`plan_requested`)."""
        facts = facts_mod.read_facts(self.kb, self.turn, self.cues, self.now)
        self._merge(facts, self.state.pending)
        self.state = self.state.update(pending=None)
        return Outcome([], self.state, [], self.turn.language)

    def _names_an_answer_of_the_last(self, requests: list[Request]) -> bool:
        """A short follow-up ("and liquids") that names another answer of the last topic and
        no "more" word."""
        text = self.turn.text
        last = self.state.last_topic
        return bool(requests) and self.cues.is_follow_up(text) and \
            not self.cues.wants_more(text) and any(
                r.topic.id == last and r.answer.key not in (r.topic.main.key,
                                                            self.state.last_key)
                for r in requests)

    def _asked_again(self) -> Optional[Request]:
        """"and on friday?", "y el sábado?" right after the opening hours: a short message
        with one of the last answer's `again_cues` asks that answer again, for another case,
        whatever it was classified as (the hours answer says every day)."""
        last = self._last_topic()
        if last is None or self.facts.medications:
            return None
        answer = self._last_answer(last)
        if not self.cues.asks_again(answer, self.turn.text):
            return None
        return Request(last, answer, explicit=False)

    def _language_switched(self) -> None:
        """"English please": say so, and give the last answer again in the new language."""
        self.pieces.append([self.writer.piece("assistant.language_switched")])
        last = self._last_topic()
        if last is None or self._asking():
            return
        answer = self._last_answer(last)
        if last.kind is TopicKind.medicine and not self.state.last_medications:
            return
        if last.id == "plan" and plan_context(self.state, self.now) is None:
            return
        self.hypothetical_site = self.state.last_site if self.state.last_site != \
            self.state.procedure_site else None
        before = len(self.pieces)
        self._answer(Request(last, answer, explicit=False))
        if len(self.pieces) > before + 1:  # never more than the one answer
            del self.pieces[before + 1:]

    # ------------------------------------------------------------------ facts
    def _merge(self, facts: facts_mod.Facts, pending: Optional[Pending]) -> None:
        self.state, _ = facts_mod.merge_medications(self.state, facts)
        site = facts_mod.merge_site(self.state, facts, self.turn,
                                    answering_site=pending is not None and pending.ask == "site")
        self.site_changed = site.site_changed and self.before.procedure_site is not None
        self.state = site.state
        self.hypothetical_site = site.hypothetical_site
        asked = pending is not None and pending.ask in ("appointment", "appointment_time",
                                                        "confirm_date")
        about_booking = self.cues.mentions_appointment(self.turn.text) or \
            self._time_for_the_times(facts)
        telling = self.turn.intent in ("inform", "ask_plan") or about_booking
        self.appointment = facts_mod.merge_appointment(self.kb, self.state, facts, asked=asked,
                                                       telling=telling,
                                                       about_booking=about_booking)
        self.state = self.appointment.state
        if facts.driver_named:
            self.state = self.state.update(has_driver=True)
        if self.cues.declines_sedation(self.turn.text) or self._tells_no_sedation():
            self.state = self.state.update(sedation_declined=True)
        elif self.state.sedation_declined and self._sedation_after_all():
            self.state = self.state.update(sedation_declined=None)
        if facts.kidneys_impaired is not None and (
                self.state.renal_impaired is None or pending is None or pending.ask != "kidney"):
            self.state = self.state.update(renal_impaired=facts.kidneys_impaired)

    def _tells_no_sedation(self) -> bool:
        """"the doctor said it's only local for me, no sedation": said rather than put as a
        condition ("what if I don't have sedation?" changes nothing); "will I be awake?" asks
        about sedation and says nothing of it (KB cues `no_sedation_told`)."""
        text = self.turn.text
        return not self.cues.puts_a_condition(text) and self.cues.tells_no_sedation(text)

    def _sedation_after_all(self) -> bool:
        """"what if they decide to give me sedation after all?", "¿y si al final sí me
        sedan?": a condition that names the sedation topic's words, and not the answer for
        no sedation."""
        text = self.turn.text
        sedation = self._topic_of("ask_sedation")
        return sedation is not None and self.cues.puts_a_condition(text) and \
            mentions(text, self.cues.words_of(sedation)) and \
            not self.cues.tells_no_sedation(text)

    def _time_for_the_times(self, facts: facts_mod.Facts) -> bool:
        """"8am i think" right after an answer that has a clock-time version (fasting,
        arrival): a short message that gives only a time gives the procedure's time."""
        parsed = facts.appointment
        return bool(self.state.timed_key) and parsed is not None and parsed.date is None \
            and parsed.time is not None and len(self.turn.text.split()) <= TIME_ONLY_WORDS

    def _names_a_topic(self) -> bool:
        """Some topic's words or answer cues occur in the message."""
        return any(self.cues.supports(topic, self.turn.text) for topic in self.kb.registry.topics)

    def _with_sedation_wish(self, topic: TopicSpec, answer: AnswerSpec) -> AnswerSpec:
        """A fasting question ("then would I still have to fast?", "so a normal breakfast is
        ok then?": the general answer, or one that gives a fasting cut-off) from a patient who
        has said there will be, or would rather have, no sedation: the answer flagged
        `for_sedation_wish` (usually no fasting, the clinic confirms), while nothing says
        whether sedation is planned. "What if they sedate me after all?" puts it back."""
        # a meal question ("is a normal breakfast ok?") only where the clinic's rules do not
        # apply without sedation; where they do, its own answer is right either way. What a
        # drink counts as ("does orange juice count as clear?") keeps its own answer.
        cut_off = answer.key == topic.main.key or (
            not self.kb.fasting.applies_without_sedation and answer.with_plan is not None
            and self.plans.is_meal(answer.with_plan))
        if (not cut_off or not self.state.sedation_declined
                or self.state.sedation_planned is not None):
            return answer
        return next((a for a in topic.answers if a.for_sedation_wish), answer)

    # ------------------------------------------------------------------ which topics
    def _topic_of(self, intent: str) -> Optional[TopicSpec]:
        return self.kb.registry.topic_for_intent(intent)

    def _supported(self, topic: TopicSpec, text: Optional[str] = None) -> bool:
        """The message (or a part of it) has the topic's cue or content words (a named drug
        supports the medicine topics, a screening condition the illness topic)."""
        if text is None and self.facts.medications and (
                topic.kind is TopicKind.medicine or topic.id == "medications"):
            return True
        if text is None and topic.id == "illness" and self._screening_items():
            return True
        return self.cues.supports(topic, self.turn.text if text is None else text)

    def _requests(self, facts: facts_mod.Facts) -> list[Request]:
        """The topics and answers this message asks about, in the order asked (see
        `_asked`), with usual tablets asked while fasting read as the fasting question."""
        return self._tablets_while_fasting(self._asked(facts))

    def _asked(self, facts: facts_mod.Facts) -> list[Request]:
        """The topics and answers this message asks about, in the order asked.

        In order: several questions (one `topic` entity each); a follow-up of the last topic;
        the classified topic when the message's words support it (or the classifier is very
        sure); a question part with another topic's words ("what do I need to do?"); the
        drugs the message names; the last topic's words; a closest topic the words support;
        else nothing (the patient gets "not sure I understood" and quick replies).
        """
        text = self.turn.text
        last = self._last_topic()
        if last is not None and self.cues.wants_more(text) and (len(text.split()) <= 3 or (
                len(text.split()) <= MORE_ABOUT_THAT_WORDS and self.cues.has_anaphora(text)
                and not self.facts.medications and self._more_about(any_topic=True) is None)):
            self.more_asked = True
            return []  # "why?", "can you explain that a bit more": the last answer's detail
        if (facts.correction and self.appointment.appointment_set and self.before.procedure_start
                and not self.cues.is_question(text, 0, len(text))):
            return []  # "uy no, es a las 10": the last answer again, at the new times
        if (last is not None and not facts.medications
                and (not self._asks_something() or (self.turn.intent == "inform"
                                                    and self._tells_the_appointment(text)))
                and self.turn.intent in TELLING_INTENTS
                and (self.appointment.appointment_set or "time_only" in self.appointment.notes)):
            # "la cita es a las 9 y media", "my appointment is 9 so thats what, 7?" after the
            # fasting answer: it, in clock times
            return []
        if "arrival_time_named" in self.appointment.notes and self._asks_something():
            logistics = self._topic_of("ask_logistics")
            if logistics is not None:  # "wait so I have to actually be there at 9?": yes
                return [Request(logistics, logistics.main)]
        if (facts.driver_named and last is not None and last.id == "driver"
                and not self.cues.is_question(text, 0, len(text))):
            return []  # "my neighbour could walk back with me, she's 70": noted (not "walk")
        multi = self._multi_requests()
        if len(multi) >= 2:
            plan = next((r for r in multi if r.topic.id == "plan"), None)
            drugs = [r for r in multi if r.topic.kind is TopicKind.medicine]
            if plan is not None and drugs and self._weakly_supported(plan.topic):
                return drugs  # "I take Eliquis and aspirin. what's the plan for each?"
            if plan is not None:  # the checklist has the medicines
                multi = [r for r in multi if r.topic.kind is not TopicKind.medicine]
            return multi
        if (facts.kidneys_impaired is not None and last is not None
                and last.kind is TopicKind.medicine
                and any(self._renal_rule(n) for n in self.state.last_medications)):
            # "tengo insuficiencia renal" after the dabigatran answer: that answer, for them
            return [Request(last, self._last_answer(last), explicit=False)]
        topic = multi[0].topic if multi else self._asked_topic_instead(
            self._topic_of(self.turn.intent))
        topic = self._after_the_procedure_instead(self._drug_topic_instead(topic))
        if self.before.sedation_declined and self._sedation_after_all() and last is not None \
                and any(a.for_sedation_wish for a in last.answers):
            # "what if they sedate me after all?" after the no-sedation fasting answer: the
            # fasting rule with sedation
            return [Request(last, last.main, explicit=False)]
        plan = self._plan_asked(topic)
        if plan is not None:
            return [plan]
        confident = self.turn.confidence >= CONFIDENT
        supported = topic is not None and self._supported(topic)
        leaning = self.cues.is_short(text) and (
            self.cues.is_follow_up(text) or self.cues.has_anaphora(text)
            or (len(text.split()) <= 3 and ("?" in text or self.cues.is_question(
                text, 0, len(text)))))
        if last is not None and topic is not None and topic.id == last.id and leaning:
            return self._answers_in(topic)  # "and if it didn't?": the same topic goes on
        if last is not None and (topic is None or topic.id != last.id):
            resumed = self._follow_up_of(last, topic, supported)
            if resumed is not None:
                return [resumed]
        if topic is not None and topic.id == "human" and (confident or supported):
            return []  # handled by action_request_human
        if topic is not None and not supported and confident:
            named = self._ranked_cue_answer(topic)
            if named is not None:
                return named  # "what should I do if my legs go numb after?" (risks?)
            if self.turn.confidence < UNSUPPORTED_OK:
                worded = self._ranked_worded(topic)
                if worded is not None:
                    return self._answers_in(worded)  # "what time should i turn up" (bring?)
        if (self.hypothetical_site and last is not None and not supported
                and (topic is None or topic.id != last.id) and self._depends_on_site(last)):
            # "what if they switch it to my neck instead" after a drug answer: that answer
            # for the other site, whatever the classifier made of the rest
            return [Request(last, self._site_answer(last), explicit=False)]
        if topic is not None and (supported or (confident and self._plausible(topic))):
            if (topic.id not in ("illness", "medications", "blood_thinners", "plan")
                    and not self._cue_supports(topic) and self._screening_items()):
                illness = self.kb.registry.topic("illness")  # "I have a pacemaker, is that ok?"
                return [Request(illness, illness.main)]
            return self._answers_in(topic)
        asked = self._topic_in_questions()
        if asked is not None:
            return asked
        if facts.medications and self.turn.intent in ANSWER_INTENTS | {"ask_medications", ""}:
            drug_topic = self._medicine_topic(facts.medications)
            if drug_topic is not None:
                return [Request(drug_topic, self._answer_in(drug_topic), explicit=False)]
        follow_up = self.cues.is_follow_up(text) or self.cues.is_short(text)
        if last is not None and (follow_up or not confident):
            answer = self.cues.answer_for(last, text)
            if answer is None and self.cues.is_short(text):
                answer = self.cues.answer_for_misspelt(last, text)  # "k and cofee"
            if answer is not None:
                return [Request(last, answer, explicit=False)]
            if self.hypothetical_site:
                return [Request(last, self._site_answer(last), explicit=False)]
            if not confident and (mentions(text, self.cues.words_of(last)) or (
                    leaning and not supported)):
                elsewhere = self._specific_answer_elsewhere(last)
                if elsewhere is not None and not mentions(text, self.cues.words_of(last)):
                    return [elsewhere]  # "y el hielo va bien?" after the driving answer: ice
                # "my neighbour said it did nothing for her" after the effectiveness answer
                return [Request(last, self._last_answer(last), explicit=False)]
        if facts.driver_named or self.site_changed:
            return []  # "my son is driving me", "no, it's the neck": see _without_topic
        found = self._ranked_supported() or self._topic_from_cues()
        if found is not None:
            return found
        if last is not None and not confident and self.cues.puts_a_condition(text):
            # "y si fuera reponedora, cargando cajas todo el día?" after the work answer, and
            # no topic's words: a condition put to the last answer, which says what depends on it
            return [Request(last, self._last_answer(last), explicit=False)]
        if self._screening_items():
            illness = self.kb.registry.topic("illness")
            return [Request(illness, illness.main)]
        return []

    def _tablets_while_fasting(self, requests: list[Request]) -> list[Request]:
        """"Since I'm fasting, do I skip my morning tablets?", "¿café por la mañana y la
        pastilla de la tensión?": usual medicines asked with fasting are the fasting answer
        about tablets (with a sip of water), not the general medicines paragraph."""
        fasting = self._topic_of("ask_fasting")
        if fasting is None or self.facts.medications or not (
                any(r.topic.id == fasting.id for r in requests)
                or mentions(self.turn.text, self.cues.words_of(fasting))
                or (self.state.last_topic == fasting.id
                    and len(self.turn.text.split()) <= FOLLOW_UP_WORDS)):
            return requests  # "my tablets in the morning?" after a fasting answer: its tablets
        tablets = next((a for a in fasting.answers if a.key == f"{fasting.id}.{TABLETS_ANSWER}"),
                       None)
        if tablets is None:
            return requests
        general = [r for r in requests
                   if r.topic.id == "medications" and r.answer.key == r.topic.main.key]
        if not general:
            return requests
        out: list[Request] = []
        for request in requests:
            if request in general:
                request = Request(fasting, tablets, part=request.part)
            elif request.topic.id == "fasting" and request.answer.key == fasting.main.key and (
                    request.implied or (request.part is not None and not self.cues.is_question(
                        self.turn.text, *request.part))):
                continue  # "since I'm fasting": no question of its own
            if all(r.answer.key != request.answer.key for r in out):
                out.append(request)
        return out

    def _drug_topic_instead(self, topic: Optional[TopicSpec]) -> Optional[TopicSpec]:
        """A message naming a blood thinner, classified as a topic with no place for a drug
        ("efient 10mg. es para la rizolisis cervical. cuantos dias...?" read as eligibility),
        is about the drug when the classifier's closest topics include blood thinners."""
        # "... tomo pradaxa ... en el cuello. que tengo que hacer con la pastilla" (read as
        # procedure info, its question part as the plan) with no booking yet: the drug
        plan_part = topic is not None and topic.id == "plan" and \
            self.turn.intent != "ask_plan" and self.state.procedure_start is None and \
            not self.appointment.appointment_set
        if topic is None or topic.kind is TopicKind.medicine or (
                topic.id in DRUG_FRIENDLY_TOPICS and not plan_part):
            return topic
        if not any(is_bleeding_drug(self.kb.medication(n)) for n in self.facts.medications):
            return topic
        if self.cues.answer_for(topic, self.turn.text) is not None:
            return topic  # the classified topic's own question ("can I drive after Xarelto?")
        ranked = [intent for intent, score in self.turn.ranking[:SUGGESTIONS]
                  if score >= DRUG_TOPIC_MIN_SCORE]
        if "ask_blood_thinners" in ranked:
            return self._topic_of("ask_blood_thinners") or topic
        return topic

    def _asks_something(self) -> bool:
        """A question mark, or a part of the message that asks ("a que hora llego")."""
        text = self.turn.text
        return "?" in text or "¿" in text or any(
            self.cues.is_question(text, a, b) for a, b in self.cues.question_parts(text))

    def _plan_asked(self, topic: Optional[TopicSpec]) -> Optional[Request]:
        """"plan pls. 0830 thurs next wk. lumbar. xarelto": a message that asks for the plan
        and names drugs is the plan (its checklist has their lines), not a drug question. The
        drugs it names are the patient's answer about medicines. So is "me lo apuntas todo con
        las horas de comer y beber?" once the appointment is known (fasting is in the plan)."""
        if topic is not None and topic.kind is not TopicKind.medicine and \
                topic.id not in PLAN_PARTS:
            return None
        plan = self._topic_of("ask_plan")
        if plan is None or not mentions(self.turn.text, self.cues.words_of(plan)):
            return None
        if self.state.procedure_start is None and not self.appointment.appointment_set \
                and "T" not in (self.state.appointment_candidate or ""):
            # "what's the plan for my Eliquis?", "my neck procedure is in two weeks, what do I
            # need to do about it?" give no day and time: the drug question. A day and time
            # still to confirm (a day the clinic is closed) is the plan's confirm question.
            return None
        if self.facts.medications:
            self.state = self.state.update(medications_answered=True)
        return Request(plan, plan.main)

    def _plausible(self, topic: TopicSpec) -> bool:
        """A topic no word of the message supports, classified with confidence: taken, unless
        the message only points at something unnamed ("the thing from before") and the
        classifier is not very sure."""
        return not (self.cues.vague(self.turn.text) and self.turn.confidence < UNSUPPORTED_OK
                    and not self.facts.medications and not self.facts.sites)

    def _closest_others(self, topic: TopicSpec) -> list[TopicSpec]:
        """The classifier's next closest topics after the one classified (never "human")."""
        found = (self._topic_of(intent) for intent, _ in self.turn.ranking[1:SUGGESTIONS])
        return [c for c in found if c is not None and c.id not in (topic.id, "human")]

    def _ranked_cue_answer(self, topic: TopicSpec) -> Optional[list[Request]]:
        """A closest topic whose specific answer the message names, when the classified topic
        has no word in the message."""
        for candidate in self._closest_others(topic):
            answer = self.cues.answer_for(candidate, self.turn.text)
            if answer is not None and not self._named_beyond_how_long(candidate):
                continue  # "... doler la espalda? cuanto tiempo": how long, of the topic asked
            if answer is not None:
                return [Request(candidate, answer)]
        return None

    def _ranked_worded(self, topic: TopicSpec) -> Optional[TopicSpec]:
        """A closest topic whose own content words the message has, when the classified topic
        (confident, not sure) has none: "what time should i turn up" read as what to bring."""
        return next((candidate for candidate in self._closest_others(topic)
                     if mentions(self.turn.text, self.cues.words_of(candidate))), None)

    def _asked_topic_instead(self, topic: Optional[TopicSpec]) -> Optional[TopicSpec]:
        """"my doctor said im only getting the local numbing, no sedation. still got to starve
        myself?" (read as sedation): the topic the question asks in its own words, when the
        classified topic's words are only in what the patient told before it."""
        text = self.turn.text
        if topic is None or self.turn.confidence >= UNSUPPORTED_OK:
            return topic
        parts = self.cues.question_parts(text)
        asked = [(a, b) for a, b in parts if self.cues.is_question(text, a, b)]
        if not asked or len(asked) == len(parts):
            return topic
        if any(self.cues.supports(topic, text[a:b]) for a, b in asked):
            return topic
        return next((candidate for candidate in self._closest_others(topic) if any(
            mentions(text[a:b], self.cues.words_of(candidate)) for a, b in asked)), topic)

    def _after_the_procedure_instead(self, topic: Optional[TopicSpec]) -> Optional[TopicSpec]:
        """"Mum had it this morning with sedation and she's been sleepy all afternoon, is that
        ok?" (sedation, 0.42): a message that says the procedure is behind and names one of
        the recovery answers by its cue is about recovery, unless the classifier is sure of
        another topic."""
        text = self.turn.text
        if topic is not None and (self.turn.confidence >= CONFIDENT or topic.kind is not
                                  TopicKind.topic or topic.id in ("recovery", "human", "plan")):
            return topic
        if not self.cues.tells_procedure_done(text):
            return topic
        recovery = self._topic_of("ask_recovery")
        answer = self.cues.answer_for(recovery, text) if recovery is not None else None
        if recovery is None or answer is None or answer.key == recovery.main.key:
            return topic
        return recovery

    def _ranked_supported(self) -> Optional[list[Request]]:
        """An unsure classification: the first of the closest topics the words support."""
        for intent, _ in self.turn.ranking[:SUGGESTIONS]:
            candidate = self._topic_of(intent)
            if candidate is not None and candidate.id != "human" and self._supported(candidate):
                return self._answers_in(candidate)
        return None

    def _follow_up_of(self, last: TopicSpec, topic: Optional[TopicSpec],
                      supported: bool) -> Optional[Request]:
        """A message that continues the last topic rather than starting the one classified."""
        text = self.turn.text
        if self.turn.confidence < CONFIDENT and not (topic is not None and supported) and \
                len(text.split()) >= GENERIC_FOLLOW_UP_WORDS and \
                ("?" in text or self.cues.is_question(text, 0, len(text))) and \
                self.cues.is_generic(text):
            # "so what do I actually have to do then?" after an answer: that answer again
            return Request(last, self._last_answer(last), explicit=False)
        answer = self.cues.answer_for(last, text)
        own = topic is not None and self.turn.confidence >= CONFIDENT and \
            self.cues.answer_for(topic, text) is not None and \
            not (answer is not None and self.cues.puts_a_condition(text))
        # "and infection?" after the risks answer: a two-word follow-up naming one of the last
        # topic's answers stays with it, whatever other topic its word also belongs to
        bare = answer is not None and self.cues.is_follow_up(text) and \
            len(text.split()) <= BARE_FOLLOW_UP_WORDS
        # "and after the procedure, how soon can I go back on it?" after a blood-thinner answer
        # (read as recovery): the last topic's own sub-answer, named by its cue, beats a topic
        # the message only names by its words, with no answer of its own
        named_sub_answer = answer is not None and answer.key != last.main.key and \
            topic is not None and self.cues.answer_for(topic, text) is None
        own = own or (topic is not None and topic.id not in ("human", "plan") and not bare
                      and self.turn.confidence >= UNSUPPORTED_OK and not named_sub_answer
                      and mentions(text, self.cues.words_of(topic)))
        # "and I still need a lift home even without the sedation?" after the no-sedation
        # fasting answer: the driver, which the classifier is sure of and the words name
        if answer is not None and self.cues.is_follow_up(text) and not own:
            # "and when can I restart?" after a blood-thinner answer: the last topic's own
            # words win over whatever a short follow-up was classified as, unless the message
            # names the classified topic's own answer ("y podemos volver en taxi?": taxi).
            return Request(last, answer, explicit=False)
        if answer is not None and not supported and self.turn.confidence < UNSUPPORTED_OK:
            return Request(last, answer, explicit=False)  # "my GP said to ask the clinic"
        first = self.cues.question_parts(text)[:1]
        opening = text[first[0][0]:first[0][1]] if first else ""
        opening_answer = self.cues.answer_for(last, opening) \
            if 0 < len(opening.split()) <= 2 else None
        if (opening_answer is not None and self.turn.confidence < CONFIDENT and not own
                and not self.facts.medications):
            # "lifting? i have a 2 year old who wants picking up" after the work answer: the
            # one-word question first names the last topic's answer; the rest tells why
            return Request(last, opening_answer, explicit=False)
        weak_plan = topic is not None and topic.id == "plan"  # "list" is a plan word too
        elsewhere = self._specific_answer_elsewhere(last) if answer is None and not own else None
        runner_up = self.turn.ranking[1] if len(self.turn.ranking) > 1 else ("", 0.0)
        if (elsewhere is not None and elsewhere.topic.intent == runner_up[0]
                and runner_up[1] >= RUNNER_UP_SUPPORT
                and self._named_beyond_how_long(elsewhere.topic)):
            # "y el hielo va bien?" after the driving answer, read weakly as effectiveness with
            # recovery next: the ice answer its cue names, the classifier's second choice
            return elsewhere
        if (answer is None and not own and (weak_plan or not supported)
                and self.turn.confidence < CONFIDENT
                and self.cues.is_follow_up(text) and not self.facts.medications
                and last.kind is TopicKind.topic and last.id not in ("human", "plan")):
            # "and my actual pills or just a list" after what to bring, read weakly as the
            # plan: a follow-up that names nothing else goes on with the last answer
            return Request(last, self._last_answer(last), explicit=False)
        if (answer is not None and not own and answer.key != last.main.key and topic is not None
                and len(topic.answers) == 1 and self.turn.confidence < UNSUPPORTED_OK):
            # "when should I actually worry?" after the soreness answer: the last topic's own
            # specific answer beats a topic classified only by its general words ("worry")
            return Request(last, answer, explicit=False)
        if (answer is not None and last.kind is TopicKind.medicine
                and self.state.last_medications and not self.facts.medications
                and self.cues.refers_to_medicine(text)
                and not (own and self.turn.confidence >= UNSUPPORTED_OK)):
            # "when does he go back on it?", "when do I start the shots again?" after a drug
            # answer: that drug's restart (or missed-dose) answer, whatever it was classified as
            return Request(last, answer, explicit=False)
        if (last.kind is TopicKind.medicine and self.state.last_medications
                and not self.facts.medications and self.cues.gives_medicine_reason(text)):
            # "i had a stent put in last march", "10 days?! is that even safe for my heart"
            # after a drug answer: whether the pause is safe for this patient is the prescriber's
            # and the clinic's decision, not the risks of the procedure or an illness to report
            return Request(last, answer or self._answer_by_key(last, WHO_DECIDES_KEY),
                           explicit=False)
        if (last.kind is TopicKind.medicine and self.state.last_medications
                and self.cues.about_medicine_use(text) and not supported):
            # "so do I stop it or not??"
            return Request(last, self._repeatable_answer(last), explicit=False)
        names_own = topic is not None and self.cues.answer_for(topic, text) is not None
        if answer is not None and not names_own and self.cues.puts_a_condition(text):
            # "y si al final no me ponen sedación? el doctor dijo que a lo mejor solo anestesia
            # local" after the taxi answer: a condition naming one of the last topic's answers
            # (driver without sedation), however long, not the topic of its words (sedation);
            # unless it also names one of that topic's answers ("¿puedo volver sola?": driver)
            return Request(last, answer, explicit=False)
        if (not own and self.cues.puts_a_condition(text) and len(text.split()) <= GOES_ON_WORDS
                and mentions(text, self.cues.words_of(last)) and not self.facts.medications):
            # "what if I panic on the table?" after the anxiety answer: a condition put in the
            # last topic's own words ("panic") goes on with it, not with "table" (positioning)
            return Request(last, answer or self._last_answer(last), explicit=False)
        last_answer = self._last_answer(last)
        if (answer is None and last_answer.key != last.main.key
                and self.cues.asks_how_long(text) and not self.facts.medications
                and len(text.split()) <= GOES_ON_WORDS
                and self.cues.says_how_long(self.writer.template(last_answer.key,
                                                                 self._site()))
                and (not (supported or own) or self.cues.has_anaphora(text))):
            # "how long does that usually go on for?" after the soreness answer: that answer
            # (it says how long), not the topic "how long" was classified as (the procedure's
            # duration); "how long is the procedure?" names its own topic and is not this, nor
            # "how long does it take?" after an answer that says no time (the test current)
            return Request(last, last_answer, explicit=False)
        if (topic is not None and topic.kind is TopicKind.topic and topic.id not in (
                "human", "anxiety", "plan") and self.cues.is_short(text)
                and self.cues.has_anaphora(text) and not supported):
            # "how long will it last?" after the soreness answer
            elsewhere = self._specific_answer_elsewhere(last) if answer is None else None
            if elsewhere is not None:
                return elsewhere  # "do they grow back" after what the procedure is: repeats
            return Request(last, answer or self._last_answer(last), explicit=False)
        return None

    def _named_beyond_how_long(self, topic: TopicSpec) -> bool:
        """The message names one of the topic's answers by more than its how-long words (a
        how-long cue alone never moves a question to another topic's duration)."""
        return self.cues.answer_for(topic, self.cues.without_how_long(self.turn.text)) is not None

    def _how_long_alone(self, part: str) -> bool:
        """A part that asks only how long ("cuanto tiempo mas o menos"): of the question
        before it, not a question about another topic's duration."""
        return self.cues.asks_how_long(part) and len(
            self.cues.without_how_long(part).split()) <= HOW_LONG_ALONE_WORDS

    def _specific_answer_elsewhere(self, last: TopicSpec) -> Optional[Request]:
        """The first specific answer of another topic whose cue the message names (None: no
        such cue), for a short follow-up that names none of the last topic's answers."""
        text = self.turn.text
        for other in self.cues.topics_with_cues(text):
            if other.id == last.id or other.kind is not TopicKind.topic:
                continue
            answer = self.cues.answer_for(other, text)
            if answer is not None and answer.key != other.main.key:
                return Request(other, answer)
        return None

    def _repeatable_answer(self, last: TopicSpec) -> AnswerSpec:
        """The last answer when it was about the patient's situation (the prescriber forbids
        stopping, who decides), else the drug's rule."""
        answer = self._last_answer(last)
        return answer if answer.key in ("blood_thinners.prescriber_forbids",
                                        WHO_DECIDES_KEY) else last.main

    def _depends_on_site(self, topic: TopicSpec) -> bool:
        return topic.site is SiteUse.per_site or topic.kind is TopicKind.medicine or any(
            a.variants_by and a.variants_by.startswith("procedure.") for a in topic.answers)

    def _multi_requests(self) -> list[Request]:
        """One request per `topic` entity (several questions), without the parts that ask
        nothing of their own ("what happens now?") or that the message as a whole does not
        support (a statement read as a question: "my friend had a bad time with hers")."""
        text = self.turn.text
        support = self._whole_support()
        requests: list[Request] = []
        mentioned = self.turn.mentions(TOPIC_ENTITY)
        for index, mention in enumerate(mentioned):
            topic = self._topic_of(mention.value)
            if topic is None or any(r.topic.id == topic.id for r in requests):
                continue
            spans = 0 <= mention.start < mention.end <= len(text) and mention.end - \
                mention.start > 1
            part = text[mention.start:mention.end] if spans else text
            if not requests and spans and index + 1 < len(mentioned) and not \
                    self.cues.is_question(text, mention.start, mention.end) and (
                    self._condition_for_later(part, mentioned[index + 1:])
                    or self._tells_the_appointment(part)
                    or (topic.kind is not TopicKind.medicine
                        and self._tells_drug_and_site(mention.end))
                    or self.cues.puts_a_condition(part)  # "and if i do have the sedation, ..."
                    or support.get(mention.value, 0.0) < STATED_SUPPORT
                    or (self.cues.is_short(part) and not (self._supported(topic, part) or (
                        topic.kind is TopicKind.medicine and self.facts.medications)))):
                continue  # "needles make me go faint. can I get...?", "ok I'll ring them. ..."
            if requests and spans:
                if self.cues.is_generic(part) or self._how_long_alone(part):
                    continue  # "... me va a doler la espalda? cuanto tiempo mas o menos"
                said = not self.cues.is_question(text, mention.start, mention.end)
                if said and support and support.get(mention.value, 0.0) < STATED_SUPPORT:
                    continue  # "... tengo hernia de hiato": a statement, not a question
                weak = support and support.get(mention.value, 0.0) < SECONDARY_SUPPORT
                if weak and not self._supported(topic, part):
                    continue
                if topic.id == "illness" and any(
                        r.topic.id in ("medications", "blood_thinners") for r in requests):
                    continue  # "y la metformina? soy diabética": the medicine answer says it
            answer = self.cues.answer_for(topic, part) if spans else self._answer_in(topic)
            if answer is None and spans:
                # "I'm only getting local, no sedation. Do I still have to fast?": what was
                # said before the question is its condition
                answer = self.cues.answer_for(topic, text[:mention.end])
            requests.append(Request(topic, answer or topic.main,
                                    part=(mention.start, mention.end) if spans else None))
        if len(requests) > 1 and any(r.topic.id == "illness" for r in requests) and any(
                r.topic.id in ("medications", "blood_thinners") for r in requests) and all(
                item.item_id in MEDICINE_SCREENING for item in self._screening_items()):
            # "I have diabetes and take insulin": the medicine answer says it
            requests = [r for r in requests if r.topic.id != "illness"]
        return requests[:MAX_TOPICS]

    def _whole_support(self) -> dict[str, float]:
        """Each intent's probability for the message as a whole: the ranking, with the
        `topic` entities' own figure (the message intent is the first topic at its part's
        confidence, so the ranking does not have the whole message's for it)."""
        support = dict(self.turn.ranking)
        support.update({m.value: m.support for m in self.turn.mentions(TOPIC_ENTITY)
                        if m.support is not None})
        return support

    def _weakly_supported(self, topic: TopicSpec) -> bool:
        """The NLU split this topic off a part, but the message as a whole gives it almost
        nothing (below SECONDARY_SUPPORT). False when the NLU gave no whole-message figures."""
        if not any(m.support is not None for m in self.turn.mentions(TOPIC_ENTITY)):
            return False
        return self._whole_support().get(topic.intent, 0.0) < SECONDARY_SUPPORT

    def _tells_the_appointment(self, part: str) -> bool:
        """A statement of the booking ("Tengo la cita a las 16:00.", "my appointment's at 2pm")
        before the question: the times the later answer is given in, not a question about
        arrival."""
        return self.cues.mentions_appointment(part) and bool(re.search(r"\d", part))

    def _tells_drug_and_site(self, end: int) -> bool:
        """"tomo pradaxa 110 dos veces al dia y me van a hacer radiofrecuencia en el cuello."
        before "que tengo que hacer con la pastilla": a statement naming the medicine and the
        site is what the question after it is about, not a question about the procedure."""
        inside = [e for e in self.turn.entities if e.end <= end]  # the statement so far
        return any(e.name == "medication" for e in inside) and any(
            e.name == "procedure_site" for e in inside)

    def _condition_for_later(self, part: str, later: list[Any]) -> bool:
        """A statement that names a later question's specific answer is its condition, not
        a question of its own ("no sedation." before "do I still have to fast?")."""
        for mention in later:
            topic = self._topic_of(mention.value)
            if topic is not None and self.cues.answer_for(topic, part) is not None:
                return True
        return False

    def _answers_in(self, topic: TopicSpec) -> list[Request]:
        """Every answer of one topic the message asks for, in the order asked ("do I need a
        driver or can I take an Uber, and when can I drive again?"), plus a question part
        that names another topic's answer ("... and am I still allowed my ramipril?").

        Each question part gives its most specific answer (cue words); a question part with
        the topic's words but no cue gives the general answer (`implied`: dropped first when
        the reply is too long); the other parts only tell ("I have a 2 pm slot").
        """
        text = self.turn.text
        whole = self.cues.answer_for(topic, text)
        parts = self.cues.question_parts(text)
        if len(parts) < 2:
            return [Request(topic, whole or topic.main)]
        found: list[Request] = []
        for start, end in parts:
            part = text[start:end]
            if not self.cues.is_question(text, start, end) or self.cues.is_generic(part):
                continue
            answer = self.cues.answer_for(topic, part)
            if answer is not None:
                if all(r.answer.key != answer.key for r in found):
                    found.append(Request(topic, answer, part=(start, end)))
            elif mentions(part, self.cues.words_of(topic)):
                if all(r.answer.key != topic.main.key for r in found):
                    found.append(Request(topic, topic.main, part=(start, end), implied=True))
            else:
                other = self._other_topic_answer(topic, part)
                if other is not None and all(r.topic.id != other.topic.id for r in found):
                    found.append(Request(other.topic, other.answer, part=(start, end),
                                         explicit=False))
        own = [r for r in found if r.topic.id == topic.id]
        if not own:
            # another topic's cue in the only question: the classified topic's own answer
            # (a part about another topic only counts beside a question about this one)
            found = []
        if not any(not r.implied for r in own):
            # no question part named a specific answer: the whole message's (as for one
            # question), in place of the general one; both when the specific cue is in a part
            # that asks nothing by its form ("tengo q ir en ayunas?? y las pastillas de por la
            # mañana me las tomo": fasting, then the tablets)
            found = [r for r in found if r.topic.id != topic.id]
            found.insert(0, Request(topic, whole or topic.main))
            if own and whole is not None and whole.key != topic.main.key and any(
                    self.cues.opens_with_joiner(text[start:end])
                    and self.cues.answer_for(topic, text[start:end]) is not None
                    for start, end in parts[1:]):
                found.insert(0, own[0])  # not "n food? i usualy have porridge": one question
        return found[:MAX_TOPICS]

    def _other_topic_answer(self, topic: TopicSpec, part: str) -> Optional[Request]:
        """A specific answer of another topic named in a question part that stands on its own
        ("am I still allowed my ramipril?"); not one that leans on the first question ("and
        how long will it last?": "it" is the classified topic)."""
        if self.cues.has_pronoun(part) or len(part.split()) < 3:
            return None
        if self._how_long_alone(part):
            return None  # "... doler la espalda? cuanto tiempo mas o menos": the pain's time
        for candidate in self.cues.topics_with_cues(part):
            if candidate.id in (topic.id, "human"):
                continue
            answer = self.cues.answer_for(candidate, part)
            if answer is not None:
                return Request(candidate, answer)
        return None

    def _topic_from_cues(self) -> Optional[list[Request]]:
        """The first topic whose specific answer the message names by a cue word."""
        text = self.turn.text
        for candidate in self.cues.topics_with_cues(text)[:1]:
            if candidate.id == "human":
                continue
            answer = self.cues.answer_for(candidate, text)
            if answer is not None:
                return [Request(candidate, answer, explicit=False)]
        return None

    def _topic_in_questions(self) -> Optional[list[Request]]:
        """A question part with a topic's content words, when the classifier gave no topic
        or one the words do not support ("... partner is taking me. what do I need to do?")."""
        text = self.turn.text
        for start, end in self.cues.question_parts(text):
            if not self.cues.is_question(text, start, end):
                continue
            part = text[start:end]
            if self.cues.is_generic(part):
                continue
            for candidate in self.kb.registry.topics:
                if candidate.id != "human" and mentions(part, self.cues.words_of(candidate)):
                    return self._answers_in(candidate)
        return None

    def _site_answer(self, last: TopicSpec) -> AnswerSpec:
        """The answer to give again for another site: the last one when it depends on the
        site, else the topic's general one ("it's the neck" after "I can't lie flat")."""
        answer = self._last_answer(last)
        if last.kind is TopicKind.medicine:
            # the INR test is the same for any site: the hold rule is what changes
            return answer if answer.key not in GENERAL_MEDICINE_KEYS | {INR_KEY} else last.main
        if (answer.variants_by or "").startswith("procedure.") or self.kb.has_site_texts(
                answer.key):
            return answer
        return last.main

    def _screening_items(self) -> list[Any]:
        """The call-the-clinic conditions the message names (pacemaker, antibiotics...)."""
        from actions.conversation.cues import matches

        language = self.turn.language
        named_drugs = bool(self.facts.medications)  # "toma Sintrom": the drug's own answer
        return [item for item in self.kb.screening
                if not (named_drugs and item.item_id == BLOOD_THINNER_SCREENING)
                and matches(self.turn.text, list(item.terms.get(language, ())) +
                            list(item.terms.get("en", ())))]

    def _cue_supports(self, topic: TopicSpec) -> bool:
        return self.cues.answer_for(topic, self.turn.text) is not None

    def _last_topic(self) -> Optional[TopicSpec]:
        if not self.state.last_topic:
            return None
        try:
            return self.kb.registry.topic(self.state.last_topic)
        except KeyError:
            return None

    @staticmethod
    def _answer_by_key(topic: TopicSpec, key: str) -> AnswerSpec:
        """The topic's answer with that key (its general answer if it has none)."""
        return next((a for a in topic.answers if a.key == key), topic.main)

    def _last_answer(self, topic: TopicSpec) -> AnswerSpec:
        """The answer given last (a clinic-setting variant such as "driver.drive_home.true"
        is its answer's)."""
        last_key = self.state.last_key or ""
        for answer in topic.answers:
            if last_key == answer.key or last_key.startswith(answer.key + "."):
                return answer
        return topic.main

    def _answer_in(self, topic: TopicSpec) -> AnswerSpec:
        return self.cues.answer_for(topic, self.turn.text) or topic.main

    def _medicine_topic(self, names: tuple[str, ...]) -> Optional[TopicSpec]:
        """A message that only names drugs is about those drugs (blood thinner or not)."""
        if any(is_bleeding_drug(self.kb.medication(n)) for n in names):
            return self._topic_of("ask_blood_thinners")
        return self._topic_of("ask_medications")

    # ------------------------------------------------------------------ answering
    def _answer_all(self, requests: list[Request]) -> None:
        """Answer each request in order, then fit the reply to its length budget: 306
        characters for one question, 459 for several. What does not fit is left out, the
        general answers of question parts first, then the last answers (their topics are
        offered as quick replies)."""
        answered: list[tuple[Request, int, int, State]] = []
        for request in requests:
            if self._asking() and len(requests) == 1:
                break
            start = len(self.pieces)
            self._answer(request, several=len(requests) > 1)
            answered.append((request, start, len(self.pieces), self.state))
            if self._asking() and len(requests) > 1:
                break  # a question back (which site?) ends the reply
        self._fit(answered, SHORT_REPLY if len(requests) == 1 else LONG_REPLY)
        if len(requests) == 1 and not self._asking():
            request = requests[0]
            key = self.state.last_key
            if key and self.writer.has_detail(key, self._site()) and not self.buttons:
                self.buttons.append(self._button("label.more"))
            if request.topic.id == "anxiety":
                self.buttons.append(self._button("label.human", "question.human"))

    def _asking(self) -> bool:
        """A question of ours is open (one set aside for another question does not count)."""
        return self.state.pending is not None and not self.state.pending.paused

    def _length(self) -> int:
        texts = [" ".join(p.text for p in group if p.text) for group in self.pieces if group]
        return len(" ".join(t for t in texts if t))

    def _fit(self, answered: list[tuple[Request, int, int, State]], budget: int) -> None:
        """Leave out answers until the reply fits `budget` (never the first one)."""
        if self._length() <= budget or len(answered) < 2:
            return
        later = list(reversed(range(1, len(answered))))
        order = [i for i in later if answered[i][0].implied] + [
            i for i in later if not answered[i][0].implied]
        dropped: set[int] = set()
        for index in order:
            if self._length() <= budget:
                break
            _, start, end, _ = answered[index]
            for group in range(start, end):
                self.pieces[group] = []
            dropped.add(index)
        kept = [item for i, item in enumerate(answered) if i not in dropped]
        last_state = kept[-1][3]
        self.state = self.state.update(
            last_topic=last_state.last_topic, last_key=last_state.last_key,
            last_site=last_state.last_site, last_medications=last_state.last_medications,
            pending=last_state.pending)
        kept_topics = {item[0].topic.id for item in kept}
        self.answered = [t for t in self.answered if t in kept_topics]
        for index in sorted(dropped):
            topic = answered[index][0].topic
            if topic.id not in kept_topics:
                self.buttons.append(self._button(f"label.{topic.id}", f"question.{topic.id}"))

    def _languages(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.turn.language, "en")))

    def _button(self, label: str, payload: Optional[str] = None) -> Button:
        """A quick reply; it sends its own label (or a KB question) as plain text."""
        return Button(self.writer.label(label), self.writer.label(payload or label))

    def _site_buttons(self) -> list[Button]:
        return [self._button("label.lower_back"), self._button("label.neck")]

    def _site(self) -> Optional[str]:
        return self.hypothetical_site or self.state.procedure_site

    def _answer(self, request: Request, several: bool = False) -> None:
        topic, answer = request.topic, request.answer
        answer = self._with_sedation_wish(topic, answer)
        self.answered.append(topic.id)
        if topic.kind is TopicKind.medicine:
            self._answer_medicine(topic, answer, several)
            return
        if topic.id == "plan":
            self._answer_plan()
            return
        if topic.id == "medications":
            names = list(self.facts.medications) or (
                [] if self.cues.other_medicines(self.turn.text)  # not the drug just discussed
                else list(self.state.last_medications))
            if self._answer_medications(answer, names):
                return
        if topic.id == "illness":
            self._answer_illness(answer)
            return
        key = self._variant_key(answer)
        if key is None:  # the variant depends on the site, and it is not known yet
            self._ask_site(topic, answer)
            return
        site = self._site()
        dated = self._dated_answer(answer)
        if dated is not None:
            self._say([dated], topic, answer)
            return
        if topic.site is SiteUse.per_site and site is None and self.kb.has_site_texts(key):
            if not self.writer.has(key):
                self._ask_site(topic, answer)
                return
            self._say([self.writer.piece(key)], topic, answer, key=key)
            self.buttons = self._site_buttons()
            return
        self._say([self.writer.piece(key, site)], topic, answer, key=key)

    def _dated_answer(self, answer: AnswerSpec) -> Optional[Piece]:
        """The answer with the patient's own clock times, once the appointment is known."""
        if not answer.with_plan:
            return None
        context = appointment_context(self.state, self.now, self._site())
        if context is None:
            return None
        if self.plans.is_fasting(answer.with_plan):
            return self.plans.fasting(answer.with_plan, context, self.state)
        if answer.with_plan == ARRIVAL_PLAN_KEY:
            return self.plans.arrival(context)
        return None

    def _variant_key(self, answer: AnswerSpec) -> Optional[str]:
        """The text key for this clinic's settings (None: it depends on an unknown site)."""
        field_name = answer.variants_by
        if field_name is None:
            return answer.key
        owner, attribute = field_name.split(".", 1)
        if owner == "procedure":
            site = self._site()
            values = {getattr(p, attribute) for p in self.kb.procedures.values()}
            if site is None and len(values) > 1:
                return None
            procedure = self.kb.procedure(site) or next(iter(self.kb.procedures.values()))
            value = getattr(procedure, attribute)
        else:
            source = self.kb.clinic if owner == "clinic" else self.kb.fasting
            value = getattr(source, attribute)
        text = str(value).lower() if isinstance(value, bool) else str(value)
        return f"{answer.key}.{text}"

    def _say(self, pieces: list[Piece], topic: TopicSpec, answer: AnswerSpec,
             key: Optional[str] = None, medications: tuple[str, ...] = ()) -> None:
        self.pieces.append(pieces)
        site = self._site()
        self.state = self.state.update(last_topic=topic.id, last_key=key or answer.key,
                                       last_site=site,
                                       last_medications=medications or self.state.last_medications,
                                       timed_key=self._timed_key(answer))

    def _timed_key(self, answer: AnswerSpec) -> Optional[str]:
        """An answer with a clock-time version is remembered while the same reply answers
        more ("when do I stop eating and do I need a driver?"); a later reply forgets it."""
        if answer.with_plan:
            self.timed_this_reply = True
            return answer.key
        return self.state.timed_key if self.timed_this_reply else None

    def _ask_site(self, topic: TopicSpec, answer: AnswerSpec) -> None:
        self.pieces.append([self.writer.piece("question.site")])
        self.buttons = self._site_buttons()
        self.state = self.state.update(pending=Pending("site", topic.id, answer.key),
                                       last_topic=topic.id, last_key=answer.key)

    def _site_question(self, names: tuple[str, ...]) -> Piece:
        """"For rivaroxaban, the rule depends on where it's done: ...?" for one catalogue drug
        (the patient sees why the site matters); the plain site question otherwise."""
        known = [self.kb.medication(n) for n in names]
        if len(known) == 1 and known[0] is not None:
            return self.writer.piece("question.site_for_drug",
                                     extra={"drug": drug_name(self.writer, known[0])})
        return self.writer.piece("question.site")

    # ------------------------------------------------------------------ medicines
    def _drugs_for(self, topic_answer: AnswerSpec) -> tuple[str, ...]:
        named = self.facts.medications
        if named:
            return named
        if self.state.last_medications and not self.facts.negated_medications:
            return self.state.last_medications
        # A name the catalogue does not know is still a medicine the patient takes: it gets
        # "I don't have that in my list" (never "no blood thinner to plan for").
        return (*self.state.medications_taken, *self.state.medications_unknown)

    def _answer_medicine(self, topic: TopicSpec, answer: AnswerSpec, several: bool) -> None:
        general_keys = GENERAL_MEDICINE_KEYS
        names = self._drugs_for(answer)
        if answer.key == "blood_thinners.bridging" and self.facts.medications:
            answer = topic.main  # "bridging with Lovenox, when is my last injection?"
        if answer.key == INR_KEY and self.facts.medications and \
                self.cues.about_medicine_use(self.turn.text):
            answer = topic.main  # "do I hold my Coumadin? my INR runs at 2.5": the rule
        if answer.key in general_keys and answer.key != "blood_thinners.two_medicines":
            self._say([self.writer.piece(answer.key)], topic, answer, medications=names)
            return
        if not names:
            if self.state.medications_answered and not self.state.medications_taken:
                self._say([self.writer.piece("blood_thinners.none_taken")], topic, answer)
                return
            main = self.writer.piece("blood_thinners.main")
            self.pieces.append([main, self._medication_question(len(main.text))])
            self.state = self.state.update(pending=Pending("medication", topic.id, answer.key),
                                           last_topic=topic.id, last_key=answer.key)
            return
        site = self._site()
        if answer.key == INR_KEY:
            self._say([self.medicine.inr(n) for n in names], topic, answer, medications=names)
            return
        if site is None and not all(same_rule_everywhere(self.kb, n) for n in names):
            self.pieces.append([self._site_question(names)])
            self.buttons = self._site_buttons()
            self.state = self.state.update(
                pending=Pending("site", topic.id, answer.key, medications=names),
                last_topic=topic.id, last_key=answer.key, last_medications=names)
            return
        per_drug: list[list[Piece]] = []
        context = plan_context(self.state.update(procedure_site=site), self.now) if site else None
        bleeding = tuple(n for n in names if self._bleeding_class(n))
        if bleeding and len(bleeding) < len(names):
            # "I take Xarelto and metformin": the blood-thinner answer is about the bleeding
            # drugs; the others are their own question, one tap away
            for name in names:
                if name not in bleeding:
                    self.buttons.append(self._drug_button(name))
            names = bleeding
        together = self.medicine.general_together(names, site) \
            if context is None and answer.key != "blood_thinners.restart" else None
        if together is not None:
            self._say([together], topic, answer, medications=names)
            return
        for name in names:
            if answer.key == "blood_thinners.restart":
                per_drug.append(self.medicine.restart(name, site or "lumbar"))
            elif context is not None:
                dated, _ = self.medicine.dated(name, context.site, context.dating(self.state))
                per_drug.append(dated)
            else:
                per_drug.append(self.medicine.general(name, site, self.state.renal_impaired))
        extra = [self.writer.piece("blood_thinners.two_medicines")] \
            if answer.key == "blood_thinners.two_medicines" else []
        if context is None and answer.key != "blood_thinners.restart":
            listed = self._listed_drugs(per_drug, extra, names, site)
            if listed is not None:
                self._say(listed, topic, answer, medications=names)
                return
        pieces = self._fit_drugs(per_drug, extra, names)
        self._say(pieces, topic, answer, medications=names)

    def _listed_drugs(self, per_drug: list[list[Piece]], extra: list[Piece],
                      names: tuple[str, ...], site: Optional[str]) -> Optional[list[Piece]]:
        """Several drugs whose full rule texts would not fit two SMS segments, as one line
        each (every drug answered, who decides said once); None when the full texts fit, or
        when even the lines do not fit three segments (then `_fit_drugs` offers the rest)."""
        if len(per_drug) < 2 or \
                len(" ".join(p.text for ps in per_drug for p in ps)) <= SHORT_REPLY:
            return None
        listed = self.medicine.general_list(names, site, self.state.renal_impaired)
        if len(" ".join(p.text for p in listed)) > LONG_REPLY:
            return None
        if extra and len(" ".join(p.text for p in listed + extra)) <= LONG_REPLY:
            listed += extra  # "about both"
        return listed

    def _fit_drugs(self, per_drug: list[list[Piece]], extra: list[Piece],
                   names: tuple[str, ...]) -> list[Piece]:
        """Every drug's answer while the reply stays within one question's budget; the drugs
        left out are offered as quick replies ("What about warfarin?")."""
        budget = LONG_REPLY if len(per_drug) > 1 else SHORT_REPLY  # each drug is a question
        if len(per_drug) > 1 and len(" ".join(p.text for ps in per_drug for p in ps)) > budget:
            # "warfarin + aspirin": each drug's direct answer (its first line) before any
            # drug's further lines (the INR test, the restart), which are a follow-up away
            per_drug = [pieces[:1] for pieces in per_drug]
        kept: list[Piece] = self._restart_if_it_fits(per_drug[0], names[0], budget) \
            if per_drug else []
        left: list[str] = []
        for name, pieces in zip(names[1:], per_drug[1:], strict=False):
            candidate = kept + pieces
            if len(" ".join(p.text for p in candidate)) <= budget and not left:
                kept = candidate
            else:
                left.append(name)
        if not left and len(" ".join(p.text for p in kept + extra)) <= budget:
            kept += extra  # "about both": only when both were answered
        for name in left:
            self.buttons.append(self._drug_button(name))
        return kept

    def _restart_if_it_fits(self, pieces: list[Piece], name: str, budget: int) -> list[Piece]:
        """A dated answer (last dose, then restart) longer than its budget keeps the last
        dose, what the patient asked, and offers the restart as a quick reply ("When can I
        restart Lixiana?"), which the restart follow-up answers."""
        if len(" ".join(p.text for p in pieces)) <= budget:
            return list(pieces)
        kept = [p for p in pieces  # entries are text.<language>.<key>
                if RESTART_PIECE not in (e.split(".", 2)[-1] for e in p.entries)]
        if len(kept) == len(pieces) or not kept:
            return list(pieces)
        self.buttons.append(self._drug_button(name, "label.restart_drug"))
        return kept

    def _bleeding_class(self, name: str) -> bool:
        """A drug the blood-thinner rules are about (an unknown name counts: it gets "not in
        my list"; a draft counts: it gets "ask the clinic")."""
        medication = self.kb.medication(name)
        return medication is None or medication.drug_class in BLEEDING_CLASSES

    def _drug_button(self, name: str, key: str = "label.ask_drug") -> Button:
        """"What about metformin?" (or `key`'s label, "When can I restart dabigatran?"): a
        medicine, or its part, left out of this reply, as a quick reply."""
        medication = self.kb.medication(name)
        drug = medication.name_in(self.writer.language) if medication else echo_safe(name)
        label = self.writer.piece(key, extra={"drug": drug}).text
        return Button(label, label)

    def _answer_medications(self, answer: AnswerSpec, names: list[str]) -> bool:
        """Other medicines: a named drug's class answer, a draft's "ask the clinic"."""
        topic = self.kb.registry.topic("medications")
        for name in names:
            medication = self.kb.medication(name)
            if medication is None:
                continue
            if is_bleeding_drug(medication):
                bleeding = self._topic_of("ask_blood_thinners")
                if bleeding is not None:
                    self._answer_medicine(bleeding, bleeding.main, False)
                    return True
            if not medication.approved:
                self._say([self.medicine.not_reviewed(medication)], topic, answer,
                          medications=(name,))
                return True
            key = CLASS_ANSWERS.get(medication.drug_class)
            if key is not None and answer is topic.main:
                spec = next(a for a in topic.answers if a.key == key)
                self._say([self.writer.piece(key)], topic, spec, medications=(name,))
                return True
        return False

    # ------------------------------------------------------------------ other topics
    def _answer_illness(self, answer: AnswerSpec) -> None:
        topic = self.kb.registry.topic("illness")
        pieces = [self.writer.piece(item.text_key) for item in self._screening_items()[:2]]
        self._say(pieces or [self.writer.piece(answer.key)], topic, answer)

    def _answer_plan(self) -> None:
        topic = self.kb.registry.topic("plan")
        missing = self._missing_for_plan()
        if missing == "confirm_date":
            self._confirm_date()
            self.state = self.state.update(plan_requested=True)
            return
        if missing is not None:
            context = plan_context(self.state, self.now)
            if missing in ("medication", "kidney") and context is not None:
                # the day, arrival and fasting times are known already: give them now
                self._say_lines(self.plans.checklist_times(context, self.state))
            self._ask(missing, topic, topic.main)
            self.state = self.state.update(plan_requested=True)
            return
        context = plan_context(self.state, self.now)
        assert context is not None
        self._say_lines(self.plans.checklist(context, self.state))
        self.state = self.state.update(last_topic=topic.id, last_key=topic.main.key,
                                       plan_requested=None)

    def _missing_for_plan(self) -> Optional[str]:
        if self.state.procedure_start is None:
            candidate = self.state.appointment_candidate or ""
            if "T" in candidate:
                return "confirm_date"  # a date and time read, still to confirm
            if candidate and not candidate.startswith(TIME_ONLY):
                return "appointment_time"  # a day without a time
            return "appointment"
        if self.state.procedure_site is None:
            return "site"
        if not self.state.medications_answered:
            return "medication"
        if any(self._needs_kidney(n) for n in self.state.medications_taken):
            return "kidney"
        return None

    def _needs_kidney(self, name: str) -> bool:
        medication = self.kb.medication(name)
        procedure = self.kb.procedure(self.state.procedure_site)
        if medication is None or procedure is None or self.state.renal_impaired is not None:
            return False
        rule = medication.rule_for(procedure.risk_class)
        return rule is not None and rule.hold_days_renal_impaired is not None

    def _ask(self, ask: str, topic: TopicSpec, answer: AnswerSpec, attempts: int = 0) -> None:
        keys = {ask: f"question.{ask}" for ask in ("appointment", "appointment_time", "site",
                                                    "medication", "kidney", "has_driver")}
        extra: dict[str, object] = {}
        if ask == "appointment_time" and self.state.appointment_candidate:
            extra["date"] = self._candidate_date_text()
        if ask == "kidney":
            drug = next((n for n in self.state.medications_taken if self._needs_kidney(n)), "")
            extra["drug"] = drug
        question = self._medication_question(self._length()) if ask == "medication" else \
            self.writer.piece(keys[ask], extra=extra)
        self.pieces.append([question])
        if ask == "site":
            self.buttons = self._site_buttons()
        elif ask in ("kidney", "has_driver"):
            self.buttons = [self._button("label.yes"), self._button("label.no")]
        elif ask == "medication":
            self.buttons = [self._button("label.none")]
        self.state = self.state.update(pending=Pending(ask, topic.id, answer.key, attempts),
                                       last_topic=topic.id, last_key=answer.key)

    def _medication_question(self, before: int) -> Piece:
        """"Which medicines do you take?", in its short form when the reply so far and the
        full question would not fit two SMS segments (after an answer, after the plan's times)."""
        question = self.writer.piece("question.medication")
        if before and before + 1 + len(question.text) > SHORT_REPLY:
            return self.writer.piece("question.medication_short")
        return question

    def _candidate_date_text(self) -> str:
        value = self.state.appointment_candidate or ""
        moment = procedure_start(value) if "T" in value else None
        if moment is not None:
            return self.medicine.when(moment, self.now.date())
        try:
            day = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
        today = self.now.date()
        return self.medicine.day(day, today)

    # ------------------------------------------------------------------ pending questions
    def _handle_pending(self, pending: Pending, facts: facts_mod.Facts,
                        requests: list[Request]) -> bool:
        """Answer, re-ask or leave the open question; True when the reply is decided here."""
        if requests and self.cues.leaves_first(self.turn.text):
            # "déjalo, otra pregunta: puedo tomar café esa mañana?": the question is left
            # before its words are read as an answer ("esa mañana" is no appointment time)
            self.state = self.state.update(pending=None)
            return False
        result = self._resolve(pending, facts)
        if pending.paused and result != ANSWERED:
            # set aside for one question, and this message does not answer it either: the
            # patient has moved on, so it is dropped, never asked again
            self.state = self.state.update(pending=None)
            return False
        if result == ANSWERED:
            self.state = self.state.update(pending=None)
            asked = [r for r in requests if r.explicit and r.topic.id != pending.topic]
            questions = any(self.cues.is_question(self.turn.text, a, b)
                            for a, b in self.cues.question_parts(self.turn.text))
            if asked and questions and (self.turn.confidence >= CONFIDENT or any(
                    self._supported(r.topic) for r in asked)):
                return False  # "... si la cita es a las 9:30, ¿a qué hora llego?": the fact
                #               is kept, the question asked is answered
            topic = self._resume_topic(pending)
            if topic is None:
                self._noted()
                return True
            if topic.id == "plan":
                self._answer_plan()
                return True
            answer = next((a for a in topic.answers if a.key == pending.key), topic.main)
            if pending.medications and not self.facts.medications:
                self.state = self.state.update(last_medications=pending.medications)
            self._answer(Request(topic, answer))
            self._add_more_button()
            return True
        if result == ASKED:  # the answer raised a narrower question (a time, a "yes?")
            return True
        if self.cues.only_leaves(self.turn.text):  # "forget it": not the missed-dose topic
            self.state = self.state.update(pending=None)
            self.pieces.append([self.writer.piece("question.left")])
            return True
        asked_topic = bool(requests) and (self.turn.confidence >= CONFIDENT or any(
            r.topic.id != pending.topic or (r.explicit and r.answer.key != pending.key
                                            and r.answer.key != r.topic.main.key)
            for r in requests))  # "who decides then?" while the site is asked: answered
        if asked_topic or self.cues.leaves(self.turn.text):
            keep = asked_topic and requests and pending.ask in PAUSABLE_QUESTIONS and \
                not self.cues.leaves(self.turn.text) and \
                all(r.topic.id != pending.topic for r in requests)
            # "espera, ¿a qué hora abrís?" while the site for a drug is asked: answered, and
            # the site question waits for one message ("lo mío es en el cuello")
            self.state = self.state.update(pending=replace(pending, paused=True) if keep
                                           else None)
            if not requests:
                self.pieces.append([self.writer.piece("question.left")])
                return True
            return False  # answer the question the patient asked instead
        attempts = pending.attempts + 1
        if attempts > MAX_ATTEMPTS:
            self.state = self.state.update(pending=None)
            self.pieces.append([self.writer.piece("question.left")])
            return True
        if attempts == MAX_ATTEMPTS:
            self._explain(pending)
            self.state = self.state.update(pending=Pending(pending.ask, pending.topic,
                                                           pending.key, attempts,
                                                           pending.medications))
            return True
        if pending.ask == "confirm_date":
            if self.state.appointment_candidate or self.appointment.appointment_issue:
                self._confirm_date()
                return True
            # "no" to "is it on <date>?": there is no date left to confirm; ask for it again
            pending = replace(pending, ask="appointment")
        topic = self._resume_topic(pending) or self.kb.registry.topic("plan")
        answer = next((a for a in topic.answers if a.key == pending.key), topic.main)
        self._ask(pending.ask, topic, answer, attempts)
        return True

    def _resume_topic(self, pending: Pending) -> Optional[TopicSpec]:
        if not pending.topic:
            return None
        try:
            return self.kb.registry.topic(pending.topic)
        except KeyError:
            return None

    def _resolve(self, pending: Pending, facts: facts_mod.Facts) -> str:
        """ANSWERED (the state is updated), ASKED (a narrower question was asked) or
        UNUSABLE."""
        intent = self.turn.intent
        if pending.ask == "site":
            known = self.state.procedure_site is not None and bool(
                facts.sites or facts.negated_sites)
            return ANSWERED if known else UNUSABLE
        if pending.ask == "medication":
            if facts.medications:
                return ANSWERED
            if facts.says_none or intent == "deny":
                self.state = self.state.update(medications_answered=True)
                return ANSWERED
            if intent in ANSWER_INTENTS and self.turn.text.strip() and len(
                    self.turn.text.split()) <= 4 and not self.cues.leaves(self.turn.text):
                unknown = (*self.state.medications_unknown, self.turn.text.strip())
                self.state = self.state.update(medications_unknown=unknown,
                                               medications_answered=True)
                return ANSWERED
            return UNUSABLE
        if pending.ask in ("appointment", "appointment_time", "confirm_date"):
            if pending.ask == "confirm_date" and intent in ("affirm", "deny"):
                if self.appointment.appointment_set:
                    return ANSWERED  # "no, it's on the 2nd at 8": the new date was read
                if intent == "affirm" and self.state.appointment_candidate:
                    self.state = self.state.update(
                        procedure_start=self.state.appointment_candidate,
                        appointment_candidate=None)
                    return ANSWERED
                self.state = self.state.update(appointment_candidate=None)
                return UNUSABLE
            if self.appointment.appointment_set:
                return ANSWERED
            if self.appointment.appointment_issue is not None:
                self._confirm_or_time()
                return ASKED
            return UNUSABLE
        if pending.ask == "kidney":
            if intent == "affirm" or (self.cues.mentions_kidneys(self.turn.text)
                                      and intent != "deny"):
                self.state = self.state.update(renal_impaired=True)
                return ANSWERED
            if intent == "deny":
                self.state = self.state.update(renal_impaired=False)
                return ANSWERED
            if self.cues.leaves(self.turn.text):
                self.state = self.state.update(renal_impaired=True)  # unknown: the longer hold
                return ANSWERED
            return UNUSABLE
        if pending.ask == "has_driver":
            if intent in ("affirm", "deny"):
                self.state = self.state.update(has_driver=intent == "affirm")
                return ANSWERED
            return UNUSABLE
        if pending.ask == "dose_times":
            times = facts_mod.dose_times_from(self.turn.text, self._languages())
            if times:
                drugs = pending.medications or self.state.last_medications
                dose_times = dict(self.state.dose_times)
                for drug in drugs:
                    dose_times[drug] = tuple(t.strftime("%H:%M") for t in times)
                self.state = self.state.update(dose_times=dose_times)
                return ANSWERED
            return UNUSABLE
        return UNUSABLE

    def _confirm_or_time(self) -> None:
        """A reading that needs a yes (or a time) turns the question into that one."""
        issue = self.appointment.appointment_issue
        plan = self.kb.registry.topic("plan")
        if issue == "need_time":
            self._ask("appointment_time", plan, plan.main)
            return
        self._confirm_date()

    def _confirm_date(self) -> None:
        issue = self.appointment.appointment_issue
        shown = self.appointment.appointment_shown
        today = self.now.date()
        date_text = self.medicine.when(shown, today) if shown else self._candidate_date_text()
        key = {"clinic_closed": "date.clinic_closed", "past": "date.past",
               "too_far": "date.too_far"}.get(issue or "", "question.confirm_date")
        self.pieces.append([self.writer.piece(key, extra={"date": date_text})])
        if key == "question.confirm_date":
            self.buttons = [self._button("label.yes"), self._button("label.no")]
        self.state = self.state.update(pending=Pending("confirm_date", "plan", "plan.main"))

    def _explain(self, pending: Pending) -> None:
        keys = {"appointment": "question.appointment_help",
                "appointment_time": "question.appointment_help",
                "confirm_date": "question.appointment_help",
                "dose_times": "question.dose_times_help"}
        key = keys.get(pending.ask)
        drug = (pending.medications or ("",))[0]
        if key is None:
            topic = self._resume_topic(pending) or self.kb.registry.topic("plan")
            answer = next((a for a in topic.answers if a.key == pending.key), topic.main)
            self._ask(pending.ask, topic, answer, MAX_ATTEMPTS)
            self.pieces[-1].append(self.writer.piece("question.left"))
            return
        self.pieces.append([self.writer.piece(key, extra={"drug": drug})])
        self.buttons = [self._button("label.leave")]

    # ------------------------------------------------------------------ no topic
    def _more(self) -> None:
        key = self.state.last_key
        site = self.state.last_site or self.state.procedure_site
        planned = self._planned_key()
        if planned is not None and self.writer.has_detail(planned, site):
            key = planned  # the answer was given with the patient's own times
        named = self._more_about()
        if named is not None:  # "more on the sleep bit" after a reply that answered three things
            topic, answer = named
            if not self.writer.has_detail(answer.key, site):
                self._answer(Request(topic, answer, explicit=False))  # its answer, not another's
                return
            key = answer.key
        if key and self.writer.has_detail(key, site):
            self.pieces.append([self.writer.piece(key, site, detail=True)])
            return
        self.pieces.append([self.writer.piece("assistant.more_none")])

    def _more_about(self, any_topic: bool = False) -> Optional[tuple[TopicSpec, AnswerSpec]]:
        """The answer a "tell me more" names by its topic's words ("more on the sleep bit"),
        when that is not the last topic (None: the message names no other topic). With
        `any_topic`, every topic counts: does the message name one at all?"""
        words = self.cues.without_more_words(self.turn.text)  # "explain" is a topic word too
        for topic in self.kb.registry.topics:
            if not any_topic and (topic.id in ("human", "plan", self.state.last_topic)
                                  or topic.kind is TopicKind.medicine):
                continue
            if self.cues.supports(topic, words):
                return topic, self._answer_in(topic)
        return None

    def _planned_key(self) -> Optional[str]:
        """The dated text the last answer was given as, once the appointment is known."""
        last = self._last_topic()
        if last is None:
            return None
        answer = self._last_answer(last)
        if answer.key != self.state.last_key or not answer.with_plan:
            return None
        if appointment_context(self.state, self.now, self._site()) is None:
            return None
        return answer.with_plan

    def _add_more_button(self) -> None:
        key = self.state.last_key
        if key and self.writer.has_detail(key, self._site()) and not self.buttons:
            self.buttons.append(self._button("label.more"))

    def _noted(self) -> None:
        self.pieces.append([self.writer.piece("assistant.noted")])

    def _without_topic(self, facts: facts_mod.Facts) -> None:
        intent = self.turn.intent
        key = CONVERSATION_INTENTS.get(intent)
        if key is not None and (self.turn.confidence >= CONFIDENT or self._clear_lead()):
            self.pieces.append([self.writer.piece(key)])
            self.state = self.state.update(misses=0)
            return
        if intent in ("affirm", "deny") and self.turn.confidence >= CONFIDENT:
            self.pieces.append([self.writer.piece("assistant.anything_else")])
            return
        if self.appointment.appointment_set and self.appointment.appointment_shown:
            if self.state.plan_requested:
                self._answer_plan()  # "the letter says 7.45" after another question: the plan
                return
            if self._reanswer_with_new_times():
                return
            date_text = self.medicine.when(self.appointment.appointment_shown, self.now.date())
            self.pieces.append([self.writer.piece("date.noted", extra={"date": date_text})])
            return
        if self.appointment.appointment_issue is not None:
            self._confirm_or_time()
            return
        if "birth_date" in self.appointment.notes:
            self.pieces.append([self.writer.piece("date.birth_date")])
            return
        if self.site_changed and self._reanswer_for_new_site():
            return
        if facts.kidneys_impaired is not None and self._reanswer_for_kidneys():
            return
        if facts.driver_named:
            self.pieces.append([self.writer.piece("driver.confirmed")])
            return
        if "time_only" in self.appointment.notes and self._reanswer_with_new_times():
            return  # "its at 1030" after the fasting answer: that answer in clock times
        if "time_only" in self.appointment.notes or (intent == "inform" and (
                facts.sites or facts.says_none or facts.correction
                or facts.kidneys_impaired is not None)):
            self._noted()  # "appt is 1pm" (whatever it was classified as): a fact taken in
            return
        if not self._asks_something() and self.cues.acknowledges(self.turn.text):
            self.pieces.append([self.writer.piece("assistant.anything_else")])
            self.state = self.state.update(misses=0)
            return  # "ok noted", "ugh fine ill ask my neighbour": taken in, nothing asked
        if self._more_for_the_clinic():
            return
        self._miss()

    def _more_for_the_clinic(self) -> bool:
        """Right after a "tell the clinic, your doctor decides" answer (a registry topic
        flagged `clinic_decides`), a message that cannot be placed is more about the same
        condition: "its an older one, a medtronic i think" after the pacemaker answer. It gets
        "worth telling the clinic; your doctor decides", not "I'm not sure I understood". So
        does a statement that names another topic's word ("i also had back surgery years ago")."""
        last = self._last_topic()
        if last is None or not last.clinic_decides or self.state.misses:
            return False
        if self._asks_something() and self._names_a_topic():
            return False  # "should i just book the day off then": a question about another topic
        self.pieces.append([self.writer.piece("assistant.noted_for_clinic")])
        return True

    def _clear_lead(self) -> bool:
        """The top intent leads the next by a clear margin ("vale, me quedo más tranquila,
        gracias de verdad": thanks at 0.53, the next at 0.28): nothing else was asked, so a
        thank-you or a greeting is answered as one rather than as a miss."""
        ranking = [confidence for _, confidence in self.turn.ranking[:2]]
        second = ranking[1] if len(ranking) > 1 else 0.0
        return self.turn.confidence >= CHAT_MIN and self.turn.confidence - second >= CHAT_LEAD

    def _reanswer_for_new_site(self) -> bool:
        """"uy no, me lo hacen en el cuello": the last answer again, for the corrected site."""
        last = self._last_topic()
        if last is not None and last.id == "plan":
            self._answer_plan()  # the checklist's times and drug lines depend on the site
            return True
        if last is None or not self._depends_on_site(last):
            return False
        if last.kind is TopicKind.medicine and not self.state.last_medications:
            return False
        self._answer(Request(last, self._site_answer(last), explicit=False))
        return True

    def _reanswer_for_kidneys(self) -> bool:
        """"kidneys are fine as far as i know" after a drug whose pause depends on them: that
        drug's answer again, now for the patient's kidneys."""
        last = self._last_topic()
        names = self.state.last_medications
        if last is None or last.kind is not TopicKind.medicine or not names:
            return False
        if not any(self._renal_rule(n) for n in names):
            return False
        self._answer(Request(last, self._last_answer(last)))
        return True

    def _renal_rule(self, name: str) -> bool:
        """Whether the drug's pause is longer with impaired kidneys (dabigatran)."""
        medication = self.kb.medication(name)
        return medication is not None and any(
            rule.hold_days_renal_impaired is not None for rule in medication.rules.values())

    def _reanswer_with_new_times(self) -> bool:
        """A new or corrected appointment: the last dated answer again, with the new times."""
        last = self._last_topic()
        if last is None:
            return False
        answer = self._last_answer(last)
        if last.id == "plan":
            self._answer_plan()
            return True
        if last.kind is TopicKind.medicine and self.state.last_medications:
            self._answer(Request(last, answer))
            return True
        dated = self._dated_answer(answer)
        if dated is None:
            return self._reanswer_timed()
        self._say([dated], last, answer)
        return True

    def _reanswer_timed(self) -> bool:
        """The last answer with clock times, when a later one had none ("ok and if it's at
        11.15?" after a fasting and driver reply: the fasting answer, in clock times)."""
        key = self.state.timed_key
        if not key:
            return False
        try:
            topic = self.kb.registry.topic(key.split(".", 1)[0])
        except KeyError:
            return False
        answer = self._answer_by_key(topic, key)
        dated = self._dated_answer(answer) if answer.key == key else None
        if dated is None:
            return False
        self._say([dated], topic, answer)
        return True

    def _miss(self) -> None:
        misses = self.state.misses + 1
        self.state = self.state.update(misses=misses)
        if misses >= 2:
            self.pieces.append([self.writer.piece("assistant.fallback_contact")])
            self.buttons = [self._button("label.human", "question.human")]
            return
        self.pieces.append([self.writer.piece("assistant.fallback")])
        self.buttons = [self._button(f"label.{t.id}", f"question.{t.id}")
                        for t in self._closest_topics()]

    def _closest_topics(self) -> list[TopicSpec]:
        ranked = [self._topic_of(name) for name, _ in self.turn.ranking]
        seen: set[str] = set()
        topics = []
        for topic in ranked:
            if topic is not None and topic.id != "human" and topic.id not in seen:
                seen.add(topic.id)
                topics.append(topic)
        if not topics:
            topics = [self.kb.registry.topic(t) for t in ("fasting", "blood_thinners", "driver")]
        return topics[:SUGGESTIONS]

    # ------------------------------------------------------------------ output
    def _say_lines(self, lines: list[Piece]) -> None:
        """One message of one line per piece (a plan or a checklist)."""
        self._flush_message(Message("\n".join(p.text for p in lines), [],
                                    [e for p in lines for e in p.entries],
                                    [s for p in lines for s in p.sources]))

    def _flush_message(self, message: Message) -> None:
        self.pieces.append([Piece(message.text, tuple(message.entries), tuple(message.sources))])

    def _finish(self) -> Outcome:
        if self.pieces and self.state.misses and self.answered:
            self.state = self.state.update(misses=0)
        messages = [self.writer.message(*group) for group in self.pieces if group]
        if messages and self.buttons:
            messages[-1].buttons = list(dict.fromkeys(self.buttons))
        if self.answered:
            self.state = self.state.update(misses=0)
        return Outcome(self.writer.finish(messages), self.state,
                       list(dict.fromkeys(self.answered)), self.turn.language)


def respond(kb: KbSnapshot, turn: Turn, state: State, now: dt.datetime) -> Outcome:
    """The reply to one message (see the module docstring for the order of decisions)."""
    return Engine(kb, turn, state, now).respond()


def keep_facts(kb: KbSnapshot, turn: Turn, state: State, now: dt.datetime) -> Outcome:
    """The state with the facts the message tells, and no reply (see `Engine.keep_facts`)."""
    return Engine(kb, turn, state, now).keep_facts()


__all__ = ["Engine", "Need", "Outcome", "Request", "keep_facts", "respond"]
