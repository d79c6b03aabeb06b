"""Imported by multiprocessing's forkserver at its start (a preload module), nowhere else.

The forkserver is the parent of every pool worker and outlived a killed stage (SIGKILL),
keeping its workers' parent alive. Importing this module makes the kernel kill the
forkserver when the process that started it exits (see fmagenre.infra.lifetime).
"""

from fmagenre.infra.lifetime import parent_death_signal

parent_death_signal()
