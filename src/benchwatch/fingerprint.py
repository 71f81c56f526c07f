"""The part of a result's environment fingerprint that asv does not record itself.

asv already keeps most of the fingerprint: dependency versions in the environment
name and each result's ``requirements``, ``ENGINE_*``/``NUMBA_*`` settings in
``env_vars``, and CPU model, cores, RAM and OS in ``machine.json``. It does not
record the CPU frequency governor, which changes timings as much as a code change
can (``powersave`` against ``performance`` is often 2x on laptops).

asv copies every key of a machine's entry in ``~/.asv-machine.json`` into that
machine's ``machine.json`` and into the ``params`` of every result it writes. So
benchwatch adds the governor to that entry right after ``asv machine`` and before
``asv run``: each result then carries it, through asv's own mechanism, and a
governor change starts a new series in asv's graphs instead of hiding in one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import UserError
from .output import write_atomically

GOVERNOR_PATH = Path("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")

#: Recorded when the kernel exposes no cpufreq driver (most VMs and containers):
#: the hypervisor sets the clock, and nothing here can change it.
NO_GOVERNOR = "none"


def machine_file() -> Path:
    """Where asv keeps what it knows of each machine (it reads ``$HOME`` each time)."""
    return Path(os.path.expanduser("~/.asv-machine.json"))


def cpu_governor(path: Path = GOVERNOR_PATH) -> str:
    """The scaling governor of CPU 0, or ``"none"`` when there is no cpufreq driver."""
    try:
        value = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return NO_GOVERNOR
    return value or NO_GOVERNOR


def host_facts(governor_path: Path = GOVERNOR_PATH) -> dict[str, str]:
    """The fingerprint keys benchwatch adds to asv's machine entry."""
    return {"governor": cpu_governor(governor_path)}


def stamp_machine(machine: str, facts: dict[str, str], path: Path | None = None) -> bool:
    """Add ``facts`` to ``machine``'s entry in asv's machine file.

    Run it after ``asv machine --yes --machine NAME``, which creates the entry.
    Returns whether the file changed; an unchanged entry is not rewritten. The
    write is atomic, so a crash never leaves asv a half-written machine file.
    """
    path = machine_file() if path is None else path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError("asv machine file is missing; run 'asv machine --yes' first",
                        path=str(path)) from None
    except OSError as exc:
        raise UserError(f"cannot read asv machine file: {exc.strerror}", path=str(path)) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"asv machine file is not valid JSON: {exc.msg}", path=str(path),
                        line=exc.lineno) from None
    entry = data.get(machine) if isinstance(data, dict) else None
    if not isinstance(entry, dict):
        raise UserError(f"asv machine file has no entry for machine {machine!r}; "
                        f"run 'asv machine --yes --machine {machine}' first", path=str(path))
    if all(entry.get(key) == value for key, value in facts.items()):
        return False
    entry.update(facts)
    write_atomically(path, json.dumps(data, indent=4, sort_keys=True) + "\n")
    return True
