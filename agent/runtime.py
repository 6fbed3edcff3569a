"""What a command needs from the outside world, injectable for tests: clock, sleep, randomness."""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Callable

from agent.log import Redactor


@dataclass
class Runtime:
    clock: Callable[[], float] = time.time  # epoch seconds: NotBefore and Retry-After are wall-clock times
    sleep: Callable[[float], None] = time.sleep
    rand: Callable[[], float] = random.random
    redactor: Redactor = field(default_factory=Redactor)
    stop: Callable[[], bool] = lambda: False  # long-running loops end when this says so (tests)
