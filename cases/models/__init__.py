"""Cases app models, split by noun: the classification dictionary, cases and their events,
idempotency records."""

from cases.models.case import *  # noqa: F401,F403
from cases.models.dictionary import *  # noqa: F401,F403
from cases.models.dispatch import *  # noqa: F401,F403
from cases.models.idempotency import *  # noqa: F401,F403
from cases.models.rules import *  # noqa: F401,F403
