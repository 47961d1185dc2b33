"""Small closed word lists for the offline predicate heuristic and the rule-based SRL backend.

A2D-Sentences queries are short and formulaic ("a man in a red shirt is jumping into the pool", "dog on the left
crawling"), so a handful of closed classes (auxiliaries, determiners, prepositions by PropBank modifier role,
particles, nominal -ing compounds) plus the spacy-lookups-data verb tables go a long way without a POS tagger.
Everything is lower-case.
"""

from __future__ import annotations

import re

BE = frozenset({"is", "are", "was", "were", "be", "been", "being", "am", "'s", "'re"})
HAVE = frozenset({"has", "have", "had", "having"})
DO = frozenset({"does", "do", "did"})
MODALS = frozenset({"can", "could", "will", "would", "shall", "should", "may", "might", "must"})
AUX = BE | HAVE | DO | MODALS
"""spaCy tags these AUX (or VERB); the AllenNLP predictor makes a frame for each."""

DETERMINERS = frozenset({
    "a", "an", "the", "this", "that", "these", "those", "his", "her", "its", "their", "my", "your", "our", "some",
    "another", "other", "each", "every", "any", "no", "all", "both", "one", "two", "three", "four", "five", "six",
    "seven", "eight", "nine", "ten", "first", "second", "third", "fourth", "fifth", "last", "many", "several",
})
PRONOUNS = frozenset({"he", "she", "it", "they", "him", "them", "someone", "somebody", "something", "who", "which"})
RELATIVES = frozenset({"who", "that", "which", "whose"})
CONJ = frozenset({"and", "or", "but", ",", "&"})
SUBORDINATORS = frozenset({"while", "as", "when", "whilst", "after", "before", "until", "then"})
NEGATION = frozenset({"not", "n't", "never"})

LOC_PREPS = frozenset({
    "on", "in", "at", "inside", "near", "beside", "besides", "behind", "under", "underneath", "beneath", "between",
    "among", "amongst", "above", "below", "next", "by", "alongside", "outside", "within", "atop", "against",
    "amid", "opposite", "ahead", "infront", "beyond", "upon",
})
DIR_PREPS = frozenset({
    "into", "onto", "to", "towards", "toward", "from", "down", "up", "over", "across", "through", "along", "around",
    "past", "out", "off", "away", "round", "throughout",
})
OTHER_PREPS = frozenset({"with", "without", "of", "for", "like", "during", "about", "except", "than", "via"})
PREPS = LOC_PREPS | DIR_PREPS | OTHER_PREPS
TMP_PREPS = frozenset({"during", "after", "before", "until"})

PARTICLES = frozenset({
    "up", "down", "over", "around", "away", "back", "forward", "forwards", "backward", "backwards", "off", "out",
    "about", "along", "across", "round", "through", "in", "on", "upward", "upwards", "downward", "downwards",
    "sideways",
})
"""Words that, right after a verb and without a noun phrase of their own, give its direction (ARGM-DIR)."""

MANNER_ADVERBS = frozenset({
    "slowly", "quickly", "fast", "together", "alone", "carefully", "happily", "hard", "well", "first", "high",
    "upside", "gently", "rapidly", "freely", "playfully", "continuously", "repeatedly", "still",
})
TEMPORAL_ADVERBS = frozenset({"again", "now", "then", "already", "soon", "later", "finally", "once", "twice",
                              "suddenly", "eventually", "immediately", "instantly", "abruptly", "afterwards"})
"""ARGM-TMP, also before the verb: Locater's Table I labels "suddenly" in "... and suddenly falling" ARGM-TMP."""
LOCATIVE_ADVERBS = frozenset({"outside", "inside", "here", "there", "nearby", "outdoors", "indoors", "everywhere",
                              "ahead", "behind", "downstairs", "upstairs", "overhead", "aside", "apart"})

NOUN_ING = frozenset({
    "thing", "something", "anything", "nothing", "everything", "ceiling", "clothing", "morning", "evening", "ring",
    "king", "wing", "string", "spring", "sling", "railing", "wedding", "pudding", "icing", "bedding", "sibling",
    "duckling", "seedling", "viking", "lightning", "awning", "offspring", "earring", "herring", "during", "building",
    "painting", "ping", "swing", "sing", "bring", "fling", "sting", "wring", "cling", "ding", "darling",
    "stocking", "stockings", "dumpling", "lining", "siding", "landing", "opening", "ending", "setting",
    "ping-pong", "king-size", "stuffing", "frosting", "sweeping",
})
"""Words ending in -ing that are nouns (or function words) in A2D queries, never predicates."""

NOMINAL_ING_MODIFIERS = frozenset({
    "bowling", "racing", "training", "swimming", "parking", "dining", "living", "boxing", "diving", "skating",
    "fishing", "shopping", "washing", "sleeping", "cooking", "surfing", "skiing", "baking", "drinking", "hiking",
    "changing", "rocking", "feeding", "dressing", "bathing",
})
"""-ing words that, before a noun, are compound modifiers ("bowling ball", "racing car", "training room"); spaCy's
tagger marks them NOUN, so they get no frame. "a bouncing basketball" (a participle outside this list) does."""

NOMINAL_ING_COMPOUNDS = frozenset({
    ("running", "track"), ("running", "shoes"), ("running", "shoe"), ("running", "machine"), ("running", "water"),
    ("walking", "stick"), ("walking", "path"), ("rolling", "pin"), ("climbing", "frame"),
    ("jumping", "jack"), ("flying", "disc"), ("crawling", "tube"), ("eating", "area"), ("running", "wheel"),
})
"""Compounds of A2D action participles ("the running track"); these participles are otherwise predicates."""

ADJ_ED = frozenset({
    "striped", "colored", "coloured", "checkered", "checked", "dotted", "spotted", "haired", "faced", "naked",
    "patterned", "printed", "tired", "curved", "wooded", "skinned", "legged", "sized", "shaped", "tailed", "red",
    "bed", "shed", "sled", "speed", "hundred", "beloved", "wicked", "sacred", "rugged", "ragged", "aged",
    "advanced", "assorted", "bearded", "hooded", "winged", "horned", "masked", "armed", "mixed", "headed",
})
"""-ed words that are adjectives (or nouns) in A2D queries."""

INANIMATE_HEADS = frozenset({
    "ball", "balls", "basketball", "football", "soccer", "volleyball", "baseball", "tennis", "toy", "toys",
    "bottle", "box", "rock", "stone", "ballon", "balloon", "object", "thing", "blob", "frisbee", "puck", "wheel",
    "tire", "tyre", "can", "bowl", "pack", "bag", "kite", "leaf", "leaves", "water", "paper", "rope", "cube",
    "block", "orb", "sphere", "disc", "disk", "globe", "marble", "egg",
})
"""Subject heads that cannot be agents of motion verbs ("ball flying into the basket": ARG1)."""

ANIMATE_WORDS = frozenset({
    "man", "men", "woman", "women", "person", "people", "boy", "boys", "girl", "girls", "baby", "babies", "child",
    "children", "kid", "kids", "guy", "guys", "lady", "ladies", "adult", "adults", "player", "players", "dog", "dogs",
    "cat", "cats", "bird", "birds", "parrot", "puppy", "kitten", "friend", "owner", "trainer", "mother", "father",
    "mom", "dad", "teacher", "instructor", "he", "she", "him", "her", "them", "someone", "somebody", "toddler",
    "infant", "human", "humans", "duck", "horse", "animal", "animals", "lover", "partner", "brother", "sister",
    "daughter", "son", "family", "crowd", "team", "athlete", "gentleman",
})
"""Heads of with-phrases that denote a companion (ARGM-COM) rather than an instrument/manner (ARGM-MNR)."""

ARG1_SUBJECT_VERBS = frozenset({
    "roll", "sit", "stand", "lie", "lay", "hang", "bounce", "spin", "flip", "slide", "float", "sink", "park",
    "go", "move", "turn", "swing", "rest", "remain", "stay", "be", "seem", "appear", "drop", "tumble", "topple",
    "site", "perch", "sway", "shake", "wobble", "rock", "stop", "land", "hover", "drift", "glide", "skid",
    "overturn", "crash", "collapse", "descend", "rise", "lean", "balance", "settle",
})
"""Verbs whose intransitive subject is PropBank ARG1 (theme / thing in a state): roll.01, sit.01, stand.01,
go.01, move.01, ... With a direct object (transitive use: "moving his hand") the subject is ARG0 again. Not "fall":
SRL-BERT labels "A boy" ARG0 of "falling" in Locater's Table I (an inanimate faller stays ARG1, below)."""

INANIMATE_ARG1_VERBS = frozenset({"fly", "jump", "run", "hop", "leap", "travel", "walk", "climb", "crawl", "play",
                                  "fall"})
"""Agentive motion verbs whose subject is ARG1 when it is inanimate ("ball flying into the sky")."""

HEARER_VERBS = frozenset({"talk", "speak", "say", "listen", "shout", "yell", "bark", "sing", "wave", "call",
                          "explain", "reply", "whisper", "scream", "point", "show"})
"""talk.01 etc.: "to X" is ARG2 (hearer), not a direction."""

TO_ARG2_VERBS = frozenset({"fall", "drop", "tumble"})
"""fall.01 etc.: "to the ground" is ARG2, as SRL-BERT labels it in Locater's Table I."""

LOOK_VERBS = frozenset({"look", "stare", "glance", "gaze", "peek", "laugh", "smile", "aim", "point", "bark"})
"""look.01 etc.: "at X" is ARG1 (thing looked at), not a location."""

STATIC_VERBS = frozenset({"sit", "stand", "lie", "lay", "hang", "rest", "remain", "stay", "park", "be", "wait",
                          "perch", "squat", "kneel", "site", "sleep", "watch", "look", "pose", "hide"})
"""Verbs without motion: "to the left" after them is a location (ARGM-LOC), not a direction."""

TOKEN = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    """Lower-cased runs of letters and digits (the tokens every hard-split word rule reads)."""
    return TOKEN.findall(text.lower())


__all__ = ["ADJ_ED", "ANIMATE_WORDS", "ARG1_SUBJECT_VERBS", "AUX", "BE", "CONJ", "DETERMINERS", "DIR_PREPS", "DO",
           "HAVE", "HEARER_VERBS", "INANIMATE_ARG1_VERBS", "INANIMATE_HEADS", "LOCATIVE_ADVERBS", "LOC_PREPS",
           "LOOK_VERBS", "MANNER_ADVERBS", "MODALS", "NEGATION", "NOMINAL_ING_COMPOUNDS", "NOMINAL_ING_MODIFIERS",
           "NOUN_ING", "OTHER_PREPS", "PARTICLES", "PREPS", "PRONOUNS", "RELATIVES", "STATIC_VERBS", "SUBORDINATORS",
           "TEMPORAL_ADVERBS", "TMP_PREPS", "TOKEN", "TO_ARG2_VERBS", "tokens"]
