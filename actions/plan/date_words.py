"""Per-language word tables for the appointment parser: English and the Spanish of Spain.

Why tables, not one regex per language: the phrases differ in word order ("ten past eight" puts
the minutes first, "las ocho y diez" the hour), but the pieces are the same (weekday and month
names, number words, "half"/"media", "de la tarde"). Keeping the words here, as data, means a
language is added by filling in a table; the grammar in date_text.py and time_text.py is shared.

Every pattern is written without accents and matched against `fold(text)`, so "miercoles" and
"miércoles", "manana" and "mañana" read the same. Patterns are regular-expression fragments;
the callers wrap them in word boundaries.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from types import MappingProxyType

from actions.plan.clock import PartOfDay


@dataclass(frozen=True)
class Lexicon:
    """The words one language (or a merge of several) uses for dates, times and their context."""

    weekdays: tuple[tuple[str, ...], ...]  # seven lists of spellings, Monday first
    months: tuple[tuple[str, ...], ...]  # twelve lists of spellings, January first
    month_names: tuple[str, ...]  # how a resolved date's month is written back for dateparser
    date_format: str  # "{month} {day} {year}" / "{day} de {month} de {year}"
    hour_words: Mapping[str, int]  # "nine" -> 9, "una" -> 1
    minute_words: Mapping[str, int]  # said with past/to or y/menos: "quarter", "media", "diez"
    after_hour_minutes: Mapping[str, int]  # said straight after the hour: "nine thirty"
    count_words: Mapping[str, int]  # "two weeks", "dos semanas"
    past_words: tuple[str, ...] = ()  # minutes before the hour, added: "ten past eight"
    to_words: tuple[str, ...] = ()  # minutes before the hour, taken off: "twenty to eight"
    plus_words: tuple[str, ...] = ()  # minutes after the hour, added: "ocho y diez"
    minus_words: tuple[str, ...] = ()  # minutes after the hour, taken off: "diez menos cuarto"
    half_before_hour: tuple[str, ...] = ()  # UK "half nine" = 9:30
    at_words: tuple[str, ...] = ()  # introduce a time: "at", "a las"
    about_words: tuple[str, ...] = ()  # introduce an approximate time: "around", "sobre las"
    about_after: tuple[str, ...] = ()  # follow an approximate time: "ish", "mas o menos"
    # A window, read as its start and approximate: "between 9 and 10", "entre las 9 y las 10".
    range_words: tuple[tuple[str, str], ...] = ()
    exact_after: tuple[str, ...] = ()  # follow an exact time: "sharp", "en punto"
    hour_after: tuple[str, ...] = ()  # follow a bare hour: "o'clock", "horas"
    # Said after a clock time, fixing its half of the day: "9 in the morning", "5 de la tarde".
    clock_parts: tuple[tuple[str, str], ...] = ()
    noon_words: tuple[str, ...] = ()
    midnight_words: tuple[str, ...] = ()
    # Parts of the day said without a clock time: "first thing", "por la tarde".
    day_parts: tuple[tuple[str, str], ...] = ()
    greetings: tuple[str, ...] = ()  # "good morning" names no part of the appointment's day
    dotted_date_cues: tuple[str, ...] = ()  # "on 3.12", "el 15.12": the dotted pair is a date
    # Phrases rewritten before anything is read ({0} is the first group): "this morning" ->
    # "today morning", "el día 5" -> "el 5" (dateparser reads neither).
    rewrites: tuple[tuple[str, str], ...] = ()
    relative_words: tuple[str, ...] = ()  # name a day relative to today: "tomorrow", "ayer"
    day_offsets: tuple[tuple[str, int], ...] = ()  # resolved here: "pasado manana" -> +2
    in_words: tuple[str, ...] = ()  # "in two weeks", "dentro de dos semanas"
    ago_words: tuple[str, ...] = ()  # "hace dos dias" (before the count)
    unit_words: tuple[tuple[str, str], ...] = ()  # ("semanas?", "week")
    duration_words: tuple[str, ...] = ()  # "30 minutes", "6 horas": a length of time, no day
    next_before: tuple[str, ...] = ()  # "next Friday", "el proximo viernes"
    next_after: tuple[str, ...] = ()  # "el viernes que viene"
    next_week: tuple[str, ...] = ()  # "Friday next week", "el viernes de la semana que viene"
    # "a week on Friday", "three weeks on Thursday" (UK), "two weeks from Friday" (US): that
    # weekday's next occurrence plus the weeks ({n} the count, {weekday} the day)
    weeks_on_weekday: tuple[str, ...] = ()
    weeks_from_today: tuple[str, ...] = ()  # "a week today", "two weeks today": today + weeks
    vague_periods: tuple[str, ...] = ()  # name a period, not a day: "next week"
    ordinal_leads: tuple[str, ...] = ()  # "el 5", "el dia 5": a lone number meaning a day
    of_words: tuple[str, ...] = ()  # between a day and a month: "the 5th of", "el 5 de"
    units_after_number: tuple[str, ...] = ()  # a number followed by these is no day or hour
    birth_words: tuple[str, ...] = ()  # "born", "fecha de nacimiento"
    birth_after: tuple[str, ...] = ()  # after the date: "14/3/61 is my date of birth"
    age_phrases: tuple[str, ...] = ()  # "tengo 64 anos" ({n} is the number)
    past_event_words: tuple[str, ...] = ()  # "I had", "was": a past tense, maybe of the booking
    past_markers: tuple[str, ...] = ()  # "last", "ago", "me operaron": plainly already happened
    booked_for: tuple[str, ...] = ()  # "an appointment for Friday", "cita para el viernes"
    booking_words: tuple[str, ...] = ()  # "booked", "told", "me citaron": says when it will be
    appointment_nouns: tuple[str, ...] = ()  # "procedure", "cita": what the sentence is about
    cutoff_words: tuple[str, ...] = ()  # "nothing after midnight": a limit, not the appointment
    rejected_words: tuple[str, ...] = ()  # "it's 10 not 9.30": the time after them is not it
    dose_words: tuple[str, ...] = ()  # "I take", "me tomo": the sentence is about a medicine
    dose_parts: tuple[tuple[str, PartOfDay], ...] = ()  # "with breakfast" -> morning
    # "a roast at 7 on the sunday evening", "la cena de empresa el jueves a las 9": a sentence
    # about a meal (and not naming the procedure) gives neither the appointment's day nor time
    meal_words: tuple[str, ...] = ()
    # right before a four-digit number, make it a clock time as "at" does: "appt 1115 tmrw",
    # "wait no its 1145" ("2026" alone stays a year)
    packed_time_leads: tuple[str, ...] = ()
    # "and my ...", "y la ...": where one message's clauses meet (a joiner before a new subject)
    clause_joiners: tuple[str, ...] = ()


ENGLISH = Lexicon(
    weekdays=(
        ("mon", "monday"), ("tue", "tues", "tuesday"), ("wed", "weds", "wednesday"),
        ("thu", "thur", "thurs", "thursday"), ("fri", "friday"), ("sat", "saturday"),
        ("sun", "sunday"),
    ),
    months=(
        ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
        ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
        ("oct", "october"), ("nov", "november"), ("dec", "december"),
    ),
    month_names=(
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
    date_format="{month} {day} {year}",
    hour_words=MappingProxyType({
        "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
        "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    }),
    minute_words=MappingProxyType({
        "five": 5, "ten": 10, "a quarter": 15, "quarter": 15, "twenty": 20,
        "twenty five": 25, "twenty-five": 25, "half": 30,
    }),
    after_hour_minutes=MappingProxyType({
        "o five": 5, "oh five": 5, "ten": 10, "fifteen": 15, "twenty": 20, "thirty": 30,
        "forty": 40, "forty five": 45, "forty-five": 45, "fifty": 50,
    }),
    count_words=MappingProxyType({
        "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
        "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
        "a couple of": 2, "couple of": 2,
    }),
    past_words=("past", "after"),
    to_words=("to", "before", "til"),
    half_before_hour=("half",),
    at_words=("at", "@"),
    about_words=(
        "around", "round about", "about", "approximately", "approx", "roughly", "circa",
        "~", "at around", "at about", "at approximately", "at roughly",
    ),
    about_after=("-?ish", "or so"),
    range_words=(("between", "and"), ("from", "to")),
    exact_after=("sharp", "on the dot", "exactly", "hours", "hrs", "h"),  # "1730 hours"
    hour_after=("o'?\\s?clock",),
    clock_parts=(
        ("in the morning", "morning"), ("in the afternoon", "afternoon"),
        ("in the evening", "evening"), ("at night", "night"), ("tonight", "night"),
    ),
    noon_words=("12 noon", "noon", "midday", "12 midday"),
    midnight_words=("midnight",),
    day_parts=(
        ("first thing(?: in the morning)?", "early_morning"),
        ("early (?:in the )?morning", "early_morning"),
        ("(?:(?:in|during|on|for) the |at |around |by )?lunch ?time", "afternoon"),
        ("(?:at|over|around|by|before|after) lunch", "afternoon"),
        ("(?:(?:in|during|on|for) the |the )?mornings?", "morning"),
        ("(?:(?:in|during|on|for) the |the )?afternoons?", "afternoon"),
        ("(?:(?:in|during|on|for) the |the )?evenings?", "evening"),
        ("(?:(?:in|during|on|for) the |the |at )?nights?", "night"),
    ),
    greetings=("good (?:morning|afternoon|evening|night)", "morning all", "evening all"),
    dotted_date_cues=("on", "for", "the", "date", "until", "till", "by", "from"),
    rewrites=(
        ("this (morning|afternoon|evening)\\b", "today {0}"),
        ("tonight\\b", "today night"),
        # SMS spellings: "thurs next wk", "nxt tues", "2moro at 9"
        ("nxt\\b", "next"),
        ("wk\\b", "week"),
        ("wks\\b", "weeks"),
        ("(?:2moro|2morrow|2mrw|tmrw|tmrow|tmr|tomoz|tomorow|tommorow|tommorrow)\\b", "tomorrow"),
        # "a fortnight today", "in a fortnight"; "the second Wednesday from now", "Friday
        # after next": one week on from that weekday
        ("(?:a )?fortnight\\b", "two weeks"),
        ("(?:the )?second ((?:mon|tues|wednes|thurs|fri|satur|sun)day) from (?:now|today)\\b",
         "a week on {0}"),
        ("((?:mon|tues|wednes|thurs|fri|satur|sun)day) after next\\b", "a week on {0}"),
    ),
    relative_words=(
        "today", "tonight", "tomorrow", "tmrw", "yesterday", "fortnight", "from now", "ago",
    ),
    in_words=("in", "within", "after"),
    unit_words=(("days?", "day"), ("weeks?", "week"), ("months?", "month")),
    duration_words=("minutes?", "mins?", "hours?", "hrs?"),
    next_before=("next",),
    next_week=("{weekday},? next week", "{weekday} of next week", "next week,? (?:on )?{weekday}"),
    weeks_on_weekday=("{n} weeks? (?:on|from|after) (?:this )?{weekday}",),
    weeks_from_today=("{n} weeks? (?:today|from today)",),
    vague_periods=("(?:this|next|coming) (?:week|month)",),
    of_words=("of",),
    units_after_number=(
        "mg", "mcg", "ml", "%", "hours?", "hrs?", "days?", "weeks?", "months?", "years?",
        "minutes?", "mins?", "times?", "tablets?", "pills?", "doses?", "yrs?", "units?",
    ),
    birth_words=(
        "born(?: on| in)?", "d\\.?o\\.?b\\.?", "date of birth", "birth ?date", "birthday(?: is)?",
        "b-day",
    ),
    birth_after=("(?:is |was )?(?:my )?(?:date of birth|birthday|dob|birth ?date)",),
    age_phrases=(
        "i'?m {n}(?: years?(?: old)?)?(?= ?(?:$|[,.;!?]|and\\b|years?\\b|yo\\b))",
        "i am {n}(?: years?(?: old)?)?(?= ?(?:$|[,.;!?]|and\\b|years?\\b|yo\\b))",
        "{n} years? old", "{n} yrs? old", "aged {n}", "age:? {n}", "{n} years of age",
    ),
    past_event_words=(
        "had", "got", "was", "were", "did", "went", "received", "underwent", "took", "stopped",
        "started", "finished", "injected", "operated", "done", "came", "saw", "seen", "gave",
    ),
    past_markers=(
        "last", "ago", "previous", "previously", "used to", "since", "been",
    ),
    booked_for=("for",),
    booking_words=(
        "booked", "booking", "scheduled", "reschedul(?:e|ed|ing)", "planned", "due", "set for",
        "gave me", "given", "slot",
        "mov(?:e|ed|ing)", "chang(?:e|ed|ing)", "postpon(?:e|ed)", "brought forward", "now",
        "told", "given", "said", "says", "saying", "letter",
        "will", "'ll", "going to", "gonna", "is on", "it's on", "its on", "is at", "coming in",
        "come in", "confirmed",
        # "my mum is having her neck done next thursday": done, but not yet
        r"(?:having|getting) (?:\w+ ){0,3}done",
    ),
    appointment_nouns=(
        "appointments?", "appt", "procedures?", "rhizotomy", "ablation", "rfa", "surgery",
        "admission", "rf", "rhizolysis",
    ),
    packed_time_leads=(
        "appt", "appointment", "booked", "booked in", "booked for", "booked in for", "slot",
        "it's", "its", "it is",
    ),
    meal_words=(
        "dinner", "supper", "roast", "lunch", "brunch", "meal", "fry up", "fry-up", "takeaway",
        "bbq", "barbecue", "curry", "pizza", "snack", "eat", "eating", "ate",
    ),
    cutoff_words=("after", "before", "since", "no later than", "not later than", "up to"),
    rejected_words=("not", "not at", "instead of", "instead of at", "rather than", "rather than at",
                    "isn't", "isnt", "isn't at", "isnt at"),
    dose_words=(
        "take", "takes", "taking", "dose", "doses", "pill", "pills", "tablet", "tablets",
        "inject", "injection of", "swallow",
    ),
    dose_parts=(
        ("(?:with|at|after|before|over) (?:my )?breakfast", PartOfDay.MORNING),
        ("when i (?:wake|get) up|on waking|first thing(?: in the morning)?", PartOfDay.MORNING),
        ("(?:in|every) the morning|every morning|mornings", PartOfDay.MORNING),
        ("(?:with|at|after|before|over) (?:my )?lunch(?: ?time)?", PartOfDay.AFTERNOON),
        ("(?:in|every) the afternoon|every afternoon|afternoons", PartOfDay.AFTERNOON),
        ("(?:with|at|after|before|over) (?:my )?(?:dinner|supper|tea|evening meal)",
         PartOfDay.EVENING),
        ("(?:in|every) the evening|every evening|evenings", PartOfDay.EVENING),
        ("at night|every night|nightly|at bed ?time|before (?:i go to )?bed|before sleep(?:ing)?"
         "|(?:when|before) i go to (?:bed|sleep)|at night ?time", PartOfDay.NIGHT),
    ),
    clause_joiners=(
        "(?:and|but|then|although|though|whereas|while)(?= (?:my|the|it|it's|its|i|i'm|i'll"
        "|we|they|he|she|then|also|now|next|this|that|takes|take|uses|use|on)\\b)",
    ),
)  # fmt: skip

SPANISH = Lexicon(
    weekdays=(
        ("lunes",), ("martes",), ("miercoles",), ("jueves",), ("viernes",), ("sabado",),
        ("domingo",),
    ),
    months=(
        ("enero", "ene"), ("febrero", "feb"), ("marzo",), ("abril", "abr"), ("mayo",),
        ("junio", "jun"), ("julio", "jul"), ("agosto",), ("septiembre", "setiembre", "sept"),
        ("octubre", "oct"), ("noviembre", "nov"), ("diciembre", "dic"),
    ),
    month_names=(
        "enero", "febrero", "marzo", "abril", "mayo", "junio",
        "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
    ),
    date_format="{day} de {month} de {year}",
    hour_words=MappingProxyType({
        "una": 1, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
        "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12,
    }),
    minute_words=MappingProxyType({
        "cinco": 5, "diez": 10, "cuarto": 15, "veinte": 20, "veinticinco": 25,
        "veinte y cinco": 25, "media": 30,
    }),
    after_hour_minutes=MappingProxyType({}),
    count_words=MappingProxyType({
        "un": 1, "una": 1, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
        "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "quince": 15,
        "un par de": 2,
    }),
    plus_words=("y",),
    minus_words=("menos",),
    at_words=("a las", "a la", "las", "la", "para las", "para la", "desde las"),
    about_words=(
        "sobre las", "sobre la", "hacia las", "hacia la", "a eso de las", "a eso de la",
        "alrededor de las", "alrededor de la", "mas o menos a las", "mas o menos a la",
        "aproximadamente a las", "aprox\\.? a las",
    ),
    about_after=("mas o menos", "o asi", "aproximadamente", "aprox\\.?", "y pico"),
    range_words=(("entre las", "y las"), ("entre la", "y las"), ("de", "a")),
    exact_after=("en punto", "puntual(?:es)?", "h", "hrs?", "horas?"),
    clock_parts=(
        ("de la manana", "morning"), ("de la madrugada", "early_morning"),
        ("de la tarde", "afternoon"), ("de la noche", "night"), ("del mediodia", "midday"),
        ("por la manana", "morning"), ("por la tarde", "afternoon"), ("por la noche", "night"),
    ),
    noon_words=("(?:a |al )?mediodia", "las 12 del mediodia", "las doce del mediodia"),
    midnight_words=("(?:a |a la )?medianoche",),
    day_parts=(
        ("a primera hora(?: de la manana)?", "early_morning"),
        ("(?:de|por la|a la) madrugada", "early_morning"),
        ("(?:a la )?hora de (?:comer|la comida|almorzar|el almuerzo)", "afternoon"),
        ("(?:por|en|durante|de|a) la manana", "morning"),
        ("(?:por|en|durante|de|a) la tarde", "afternoon"),
        ("(?:por|en|durante|de|a) la noche", "night"),
    ),
    greetings=("buenos dias", "buenas tardes", "buenas noches", "buen dia"),
    dotted_date_cues=("el", "del", "dia", "para", "fecha", "hasta", "desde"),
    rewrites=(
        ("esta (manana|tarde|noche)\\b", "hoy por la {0}"),
        ("(?:el )?dia (?=\\d)", "el "),
        # SMS spellings of "mañana" (accents are folded first: "mñn" is "mnn")
        ("(?:mnn|mnna|mnana|mana)\\b", "manana"),
        # Catalan, as patients of a Barcelona clinic mix it in ("dema a les 8:45 em fan la
        # rizolisi"): its day and time words read as their Spanish ones
        ("dema passat\\b", "pasado manana"), ("dema\\b", "manana"), ("avui\\b", "hoy"),
        ("ahir\\b", "ayer"), ("a les\\b", "a las"), ("al mati\\b", "por la manana"),
        ("del mati\\b", "de la manana"), ("de la tarda\\b", "de la tarde"),
        ("la setmana que ve\\b", "la semana que viene"), ("dilluns\\b", "lunes"),
        ("dimarts\\b", "martes"), ("dimecres\\b", "miercoles"), ("dijous\\b", "jueves"),
        ("divendres\\b", "viernes"), ("dissabte\\b", "sabado"), ("diumenge\\b", "domingo"),
    ),
    relative_words=(
        "hoy", "manana", "ayer", "anteayer", "antes de ayer", "pasado manana", "dentro de",
        "hace",
    ),
    day_offsets=(("pasado manana", 2), ("anteayer", -2), ("antes de ayer", -2)),
    in_words=("dentro de", "en", "de aqui a"),
    ago_words=("hace",),
    unit_words=(("dias?", "day"), ("semanas?", "week"), ("mes(?:es)?", "month")),
    duration_words=("minutos?", "min", "horas?", "h"),
    next_before=("proximo", "proxima"),
    next_after=("que viene", "proximo", "de la semana que viene", "de la proxima semana"),
    next_week=(
        "(?:el )?{weekday} de la semana que viene", "(?:el )?{weekday} de la proxima semana",
        "la semana que viene,? (?:el )?{weekday}", "la proxima semana,? (?:el )?{weekday}",
    ),
    vague_periods=(
        "(?:la )?semana (?:que viene|proxima)", "(?:la )?proxima semana",
        "(?:el )?mes (?:que viene|proximo)", "(?:el )?proximo mes", "esta semana", "este mes",
    ),
    ordinal_leads=("el dia", "el", "dia"),
    of_words=("de",),
    units_after_number=(
        "mg", "mcg", "ml", "%", "horas?", "h", "dias?", "semanas?", "mes(?:es)?", "anos?",
        "minutos?", "min", "veces", "comprimidos?", "pastillas?", "dosis", "unidades",
        "y media", "y cuarto", "menos cuarto",
    ),
    birth_words=(
        "naci(?: el| en)?", "nacido(?: el| en)?", "nacida(?: el| en)?",
        "fecha de nacimiento(?: es)?", "f\\.? ?nac\\.?", "cumpleanos(?: es)?",
        "mi cumple(?: es)?",
    ),
    birth_after=("(?:es )?(?:mi )?(?:fecha de nacimiento|cumpleanos)",),
    age_phrases=("tengo {n} anos", "{n} anos de edad", "edad:? {n}", "cumplo {n}"),
    past_event_words=(
        "tuve", "tuvo", "fue", "fui", "estuve", "estaba", "era", "hice", "deje", "pare",
        "empece", "cene", "comi", "desayune",
    ),
    past_markers=(
        "me operaron", "me opere", "me hicieron", "me pusieron", "me infiltraron",
        "me pincharon", "me inyectaron", "me dieron el alta", "hace", "pasado(?! manana)",
        "pasada", "ultima", "ultimo", "anterior", "desde hace", "desde que", "desde el",
        "desde la",
    ),
    booked_for=("para",),
    booking_words=(
        "me toca", "tengo que ir", "me citaron", "me han citado", "me dijeron", "me han dicho",
        "me han dado", "sera", "va a ser", "es el", "es a las", "cambi\\w*", "mov\\w*",
        "aplaz\\w*", "adelant\\w*", "retras\\w*", "ahora", "pasado al", "vengo", "venir", "pone",
        "dice", "confirmad[oa]", "programad[oa]", "me hacen", "me lo hacen", "me la hacen",
        "le hacen", "se lo hacen", "se la hacen", "me van a hacer", "le van a hacer",
    ),
    appointment_nouns=(
        "cita", "procedimiento", "intervencion", "rizotomia", "radiofrecuencia", "ablacion",
        "operacion", "ingreso", "rizolisis", "rf",
    ),
    packed_time_leads=("cita", "turno", "es", "la cita es"),
    meal_words=(
        "cena", "cenar", "ceno", "almuerzo", "almorzar", "comida", "comer", "merienda",
        "barbacoa", "bocadillo", "picar algo",
    ),
    cutoff_words=("despues de", "antes de", "a partir de", "desde", "hasta"),
    rejected_words=("no", "no a las", "no a la", "y no a las", "en vez de", "en vez de a las",
                    "en lugar de", "en lugar de a las"),
    dose_words=(
        "tomo", "toma", "tomar", "me tomo", "dosis", "pastillas?", "comprimidos?", "me pincho",
        "me pongo", "me inyecto",
    ),
    dose_parts=(
        ("(?:con|en|tras|despues del|antes del|al) (?:el )?desayuno|desayunando|en ayunas",
         PartOfDay.MORNING),
        ("al levantarme|al despertarme|nada mas levantarme", PartOfDay.MORNING),
        ("por la manana|cada manana|todas las mananas|de manana", PartOfDay.MORNING),
        ("(?:con|en|tras|despues de|antes de) (?:la )?comida|(?:con|en|tras) el almuerzo"
         "|(?:despues|antes) del almuerzo|a mediodia", PartOfDay.AFTERNOON),
        ("por la tarde|cada tarde|todas las tardes", PartOfDay.AFTERNOON),
        ("(?:con|en|tras|despues de|antes de) (?:la )?cena|cenando", PartOfDay.EVENING),
        ("por la noche|cada noche|todas las noches|antes de (?:dormir|acostarme|irme a la cama)"
         "|al acostarme|de noche", PartOfDay.NIGHT),
    ),
    clause_joiners=(
        "(?:y|e|pero|aunque|mientras)(?= (?:mi|la|el|lo|me|tengo|luego|despues|ahora|es"
        "|esta|este|eso|toma|tomo|tomas|usa|uso|se pincha|me pincho)\\b)",
    ),
)  # fmt: skip

LEXICONS: Mapping[str, Lexicon] = MappingProxyType({"en": ENGLISH, "es": SPANISH})


def fold(text: str) -> str:
    """`text` without accents, same length, so accent-free patterns match "miércoles".

    Why the same length: positions found in the folded text are used on the original.
    """
    composed = unicodedata.normalize("NFC", text)
    return "".join(_fold_char(char) for char in composed)


def _fold_char(char: str) -> str:
    if char in "\u2019\u2018\u00b4`":
        return "'"
    return unicodedata.normalize("NFD", char)[0]


def alternation(words: Sequence[str]) -> str:
    """A non-capturing group of the fragments, longest first (so "twenty five" beats "twenty").

    Spaces in a fragment match any run of whitespace.
    """
    ordered = sorted(dict.fromkeys(words), key=len, reverse=True)
    return "(?:" + "|".join(spaced(word) for word in ordered) + ")"


def spaced(pattern: str) -> str:
    """A table pattern with its spaces made flexible: " " is any whitespace, " ?" optional."""
    pattern = re.sub(r"(?<!\\) \?", r"\\s*", pattern)
    return re.sub(r"(?<!\\) ", r"\\s+", pattern)


@lru_cache(maxsize=16)
def lexicon(languages: tuple[str, ...]) -> Lexicon:
    """The merged word table of `languages` (e.g. ("es",) or ("en", "es")).

    Raises ValueError for a language without a table, rather than silently reading nothing.
    """
    if not languages:
        raise ValueError("at least one language is needed")
    unknown = [code for code in languages if code not in LEXICONS]
    if unknown:
        raise ValueError(f"no date words for {unknown}; known: {sorted(LEXICONS)}")
    tables = [LEXICONS[code] for code in dict.fromkeys(languages)]
    if len(tables) == 1:
        return tables[0]
    return _merge(tables)


def _merge(tables: Sequence[Lexicon]) -> Lexicon:
    """Union of the tables; the first language's month names write dates back."""
    first = tables[0]
    values: dict[str, object] = {}
    for item in fields(Lexicon):
        name = item.name
        if name in ("month_names", "date_format"):
            values[name] = getattr(first, name)
        elif name in ("weekdays", "months"):
            values[name] = tuple(
                tuple(dict.fromkeys(sum((getattr(t, name)[i] for t in tables), ())))
                for i in range(len(getattr(first, name)))
            )
        elif isinstance(getattr(first, name), Mapping):
            merged: dict[str, int] = {}
            for table in tables:
                merged |= dict(getattr(table, name))
            values[name] = MappingProxyType(merged)
        else:
            values[name] = tuple(dict.fromkeys(sum((getattr(t, name) for t in tables), ())))
    return Lexicon(**values)  # type: ignore[arg-type]
