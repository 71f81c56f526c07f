"""numba diagnostics of compiled kernels: object mode, parallel loops, vectorisation.

What it is for: ``benchwatch recommend`` asks three questions of the engine's real
numba dispatchers, and this module answers them from what numba and LLVM produced:

- **object mode**: is a dispatcher compiled in object mode (a signature that is not
  among its ``nopython_signatures``, or ``forceobj``)? Where the arguments are at
  hand, the same function is timed in both modes.
- **parallel loops**: in a ``parallel=True`` kernel, which ``prange`` loops became
  parallel loops (numba's parfors), which were serialised (nested inside another
  parallel loop) and which were not converted at all? numba's own parfor passes
  decide; the kernel is run through numba's front end up to those passes only
  (``_ParforFrontEnd``: no LLVM code generation, about a second per kernel instead
  of eight), and the ``ParforDiagnostics`` it fills are read.
- **vectorisation**: which innermost loops of a kernel do floating-point arithmetic
  with scalar instructions only? The kernel is compiled afresh (no cache: cached
  code cannot be inspected) with its production flags, and the optimised LLVM IR is
  read loop by loop (``analyse_llvm``): vector types (``<8 x float>``) mean LLVM
  vectorised the loop; ``llvm.loop.isvectorized`` without vector arithmetic marks a
  vectorised loop's scalar remainder. Loops map back to source lines through
  numba's block labels (LLVM blocks are named ``B<label>`` after numba IR blocks,
  whose ``loc`` is the source line). The assembly's packed and scalar FP
  instructions (``vfmadd231ps`` vs ``vfmadd231ss``) are counted as well.

``engine_diagnostics`` applies all three to the engine: it exercises the public API
with small inputs, so ``engine._jit`` holds the dispatchers (and argument types)
production uses, follows their calls to other dispatchers (the types come from
numba's typing of the caller), and stops inspecting new kernels when its time budget
is spent (listed as skipped). It also measures what an NRT allocation costs here
and whether repeated engine calls leave memory behind.

What it must not do: turn facts into advice (``benchwatch.bottlenecks`` does), or
import numba at module import time (``benchwatch --help`` must stay fast).
"""

from __future__ import annotations

import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .bottlenecks import GrowthSeries

# ---------------------------------------------------------------- model


@dataclass(frozen=True)
class Loop:
    """One innermost loop of a kernel's optimised LLVM IR.

    ``vectorised``: it does vector floating-point arithmetic. ``remainder``: the
    scalar tail LLVM keeps next to a vectorised loop (``llvm.loop.isvectorized``, no
    vector arithmetic). ``scalar_fp``/``vector_fp`` count FP instructions in the
    loop body. ``lanes``: width of its widest vector FP operation. ``reason``: our
    reading of the IR when it is scalar (a strict-order reduction, a call).
    Lines are ``None`` for loops that came from an inlined callee.
    """

    file: str
    first_line: int | None
    last_line: int | None
    vectorised: bool
    remainder: bool
    scalar_fp: int
    vector_fp: int
    lanes: int | None
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "lines": [self.first_line, self.last_line],
                "vectorised": self.vectorised, "remainder": self.remainder,
                "scalar_fp": self.scalar_fp, "vector_fp": self.vector_fp,
                "lanes": self.lanes, "reason": self.reason}


@dataclass(frozen=True)
class KernelReport:
    name: str  # module.function
    fastmath: Any
    signature: str
    loops: tuple[Loop, ...]
    packed_fp_asm: int
    scalar_fp_asm: int
    benchmarks: str | None = None  # regex of the benchmark labels it serves
    expected_scalar: str | None = None  # why scalar code is by design here
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"kernel": self.name, "fastmath": _plain(self.fastmath),
                "signature": self.signature, "packed_fp_asm": self.packed_fp_asm,
                "scalar_fp_asm": self.scalar_fp_asm, "benchmarks": self.benchmarks,
                "expected_scalar": self.expected_scalar, "seconds": round(self.seconds, 2),
                "loops": [lp.to_dict() for lp in self.loops]}


@dataclass(frozen=True)
class ParforLoop:
    id: int
    line: int
    status: str  # parallel | serialised | fused
    nested_in: int | None
    source: str  # prange | array expression

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "line": self.line, "status": self.status,
                "nested_in": self.nested_in, "source": self.source}


@dataclass(frozen=True)
class ParallelReport:
    kernel: str
    file: str
    parfors: tuple[ParforLoop, ...]
    prange_lines: tuple[int, ...]
    prange_not_converted: tuple[int, ...]
    warnings: tuple[str, ...]
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"kernel": self.kernel, "file": self.file,
                "parfors": [p.to_dict() for p in self.parfors],
                "prange_lines": list(self.prange_lines),
                "prange_not_converted": list(self.prange_not_converted),
                "warnings": list(self.warnings), "seconds": round(self.seconds, 2)}


@dataclass(frozen=True)
class ObjectModeReport:
    name: str
    signatures: tuple[str, ...]
    object_signatures: tuple[str, ...]
    forceobj: bool
    times_object: tuple[float, ...] = ()  # seconds per call, one per repeat
    times_nopython: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"kernel": self.name, "signatures": list(self.signatures),
                "object_signatures": list(self.object_signatures), "forceobj": self.forceobj,
                "times_object_s": list(self.times_object),
                "times_nopython_s": list(self.times_nopython)}


@dataclass(frozen=True)
class Diagnostics:
    numba_version: str
    threads: int
    cpu: str
    kernels: tuple[KernelReport, ...] = ()
    parallel: tuple[ParallelReport, ...] = ()
    object_mode: tuple[ObjectModeReport, ...] = ()
    alloc_cost_ns: tuple[float, float] | None = None
    leaks: tuple[GrowthSeries, ...] = ()
    skipped: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def vector_lanes(self) -> int | None:
        lanes = [lp.lanes for k in self.kernels for lp in k.loops if lp.lanes]
        return max(lanes) if lanes else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "numba_version": self.numba_version, "threads": self.threads, "cpu": self.cpu,
            "seconds": round(self.seconds, 2),
            "object_mode": [o.to_dict() for o in self.object_mode],
            "parallel": [p.to_dict() for p in self.parallel],
            "vectorisation": [k.to_dict() for k in self.kernels],
            "alloc_cost_ns": list(self.alloc_cost_ns) if self.alloc_cost_ns else None,
            "memory_growth": [{"subject": s.subject, "params": list(s.params), "unit": s.unit,
                               "iterations": list(s.iterations), "values": list(s.values),
                               "source": s.source} for s in self.leaks],
            "skipped": list(self.skipped), "errors": list(self.errors)}


def _plain(v: Any) -> Any:
    if isinstance(v, (set, frozenset)):
        return sorted(v)
    return v


# ---------------------------------------------------------------- LLVM IR analysis

_DEFINE = re.compile(r"^define\b[^@]*@(\"[^\"]+\"|[\w.$]+)\(")
_LABEL = re.compile(r'^("(?:[^"\\]|\\.)+"|[\w.$\-]+):')
_TARGETS = re.compile(r"label %(\"[^\"]+\"|[\w.$\-]+)")
_LOOP_MD = re.compile(r"!llvm\.loop !(\d+)")
_METADATA = re.compile(r"^!(\d+) = (?:distinct )?!\{(.*)\}\s*$")
_FP_TYPE = r"(<(\d+) x (?:float|double|half)>|float|double|half)"
_FP_BINOP = re.compile(r"= (?:fadd|fsub|fmul|fdiv|frem|fneg)\b(?: [a-z]+)* " + _FP_TYPE + r"(?!\w)")
_FP_CALL = re.compile(r"call (?:[a-z]+ )*" + _FP_TYPE + r" @llvm\.(fma|fmuladd)\.")
_CALL = re.compile(r"\bcall\b[^@]*@(\"[^\"]+\"|[\w.$]+)\(")
_PHI_FP = re.compile(r"^(%[\w.$\-]+) = phi (?:[a-z]+ )*(?:float|double) (.*)$")
_DEF = re.compile(r"^(%[\w.$\-]+) = (?:(fadd|fsub|fmul|fdiv|fneg)\b|.*call.*@llvm\.(fma|fmuladd)\.)")
_BLOCK_LABEL = re.compile(r"^B(\d+)((?:\.[\w\-]+)*)$")
#: LLVM's inliner suffixes the blocks it copies from a callee with ``.i`` (``.i3``).
_INLINED = re.compile(r"^i\d*$")
#: Intrinsics that do not stop LLVM's loop vectoriser.
_HARMLESS = re.compile(r"^llvm\.(lifetime|assume|experimental\.noalias|dbg|fma|fmuladd|"
                       r"memcpy|memset|memmove|smax|smin|umax|umin|abs|fabs|minnum|maxnum|"
                       r"sqrt|vector\.reduce|expect)")


@dataclass
class _Block:
    name: str
    lines: list[str] = field(default_factory=list)
    succ: list[str] = field(default_factory=list)


def _function_blocks(ir: str, function: str | None) -> list[_Block]:
    """Basic blocks of ``function`` (the first definition when ``None``)."""
    blocks: list[_Block] = []
    inside = False
    for line in ir.splitlines():
        if not inside:
            m = _DEFINE.match(line)
            if m and (function is None or m.group(1).strip('"') == function):
                inside = True
                blocks = [_Block("%entry")]
            continue
        if line.startswith("}"):
            break
        m = _LABEL.match(line)
        if m:
            blocks.append(_Block(m.group(1).strip('"')))
            continue
        text = line.strip()
        if not text or text.startswith(";"):
            continue
        blocks[-1].lines.append(text)
        if text.startswith(("br ", "switch", "indirectbr ")):
            blocks[-1].succ.extend(t.strip('"') for t in _TARGETS.findall(text))
    # the first block may have had no label (it is then "%entry"); drop an empty one
    if blocks and blocks[0].name == "%entry" and not blocks[0].lines and len(blocks) > 1:
        blocks = blocks[1:]
    # a switch spreads its cases over the following lines
    return blocks


def _natural_loops(blocks: list[_Block]) -> dict[str, set[str]]:
    """Header -> body (block names) of every natural loop, from DFS back edges."""
    succ = {b.name: [s for s in b.succ] for b in blocks}
    preds: dict[str, list[str]] = {b.name: [] for b in blocks}
    for b in blocks:
        for s in b.succ:
            preds.setdefault(s, []).append(b.name)
    if not blocks:
        return {}
    back: list[tuple[str, str]] = []
    state: dict[str, int] = {}  # 1 on stack, 2 done
    stack = [(blocks[0].name, iter(succ.get(blocks[0].name, [])))]
    state[blocks[0].name] = 1
    while stack:
        node, it = stack[-1]
        nxt = next(it, None)
        if nxt is None:
            state[node] = 2
            stack.pop()
            continue
        st = state.get(nxt)
        if st == 1:
            back.append((node, nxt))
        elif st is None:
            state[nxt] = 1
            stack.append((nxt, iter(succ.get(nxt, []))))
    loops: dict[str, set[str]] = {}
    for latch, header in back:
        body = loops.setdefault(header, {header})
        work = [latch]
        while work:
            n = work.pop()
            if n in body:
                continue
            body.add(n)
            work.extend(preds.get(n, []))
    return loops


def _metadata(ir: str) -> dict[str, str]:
    out = {}
    for line in ir.splitlines():
        m = _METADATA.match(line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def _is_vectorized_md(md: dict[str, str], node: str) -> bool:
    body = md.get(node, "")
    for ref in re.findall(r"!(\d+)", body):
        if "llvm.loop.isvectorized" in md.get(ref, ""):
            return True
    return "llvm.loop.isvectorized" in body


def _glue(name: str) -> bool:
    """Blocks LLVM adds around a loop it transformed (vector checks, preheaders,
    prologue and epilogue exits): a path through these stays with one source loop."""
    if not name.startswith("B"):
        return True
    return any(t in name for t in ("preheader", ".ph", ".prol", ".epil", "loopexit",
                                   "crit_edge", ".lr"))


@dataclass
class _RawLoop:
    blocks: set[str]
    scalar: int
    vector: int
    lanes: int
    marked: bool  # llvm.loop.isvectorized on its latch
    reduction: bool
    calls: list[str]
    file: str | None
    lines: list[int]


def analyse_llvm(ir: str, function: str | None = None,
                 label_lines: Mapping[int, tuple[str, int]] | None = None) -> list[Loop]:
    """The innermost floating-point loops of ``function`` in optimised LLVM IR text.

    ``label_lines`` maps numba IR block labels to (file, line). Lines come from the
    loop's ``B<label>`` blocks; blocks LLVM copied in from an inlined callee (a
    ``.i`` suffix) are not mapped. Loops LLVM created (``vector.body``) take the
    lines of the nearest source loop reached through LLVM's glue blocks (their
    scalar twin). A scalar loop on the same lines as a vectorised one is that loop's
    remainder or runtime-check fallback, not a missed vectorisation. Loops on the
    same lines with the same verdict (unrolled copies) are merged.
    """
    blocks = _function_blocks(ir, function)
    by_name = {b.name: b for b in blocks}
    loops = _natural_loops(blocks)
    md = _metadata(ir)
    label_lines = label_lines or {}
    headers = set(loops)
    raw: dict[str, _RawLoop] = {}
    for header, body in loops.items():
        if any(h != header and h in body for h in headers):
            continue  # not innermost
        scalar = vector = lanes = 0
        marked = False
        calls: list[str] = []
        defs: set[str] = set()
        phis: list[str] = []
        files: dict[str, int] = {}
        lines: list[int] = []
        for name in body:
            b = by_name.get(name)
            if b is None:
                continue
            m = _BLOCK_LABEL.match(name)
            if m and not any(_INLINED.match(p) for p in m.group(2).split(".")[1:]):
                where = label_lines.get(int(m.group(1)))
                if where is not None:
                    files[where[0]] = files.get(where[0], 0) + 1
                    lines.append(where[1])
            for text in b.lines:
                for fm in (_FP_BINOP.search(text), _FP_CALL.search(text)):
                    if fm is None:
                        continue
                    if fm.group(2):
                        vector += 1
                        lanes = max(lanes, int(fm.group(2)))
                    else:
                        scalar += 1
                cm = _CALL.search(text)
                if cm and not _FP_CALL.search(text):
                    callee = cm.group(1).strip('"')
                    if not _HARMLESS.match(callee):
                        calls.append(callee)
                dm = _DEF.match(text)
                if dm:
                    defs.add(dm.group(1))
                pm = _PHI_FP.match(text)
                if pm:
                    phis.append(pm.group(2))
                lm = _LOOP_MD.search(text)
                if lm and _is_vectorized_md(md, lm.group(1)):
                    marked = True
        if scalar == 0 and vector == 0:
            continue
        reduction = any(v in defs for incoming in phis
                        for v in re.findall(r"\[ (%[\w.$\-]+), ", incoming))
        file = max(files, key=files.get) if files else None
        raw[header] = _RawLoop(set(body), scalar, vector, lanes, marked, reduction, calls,
                               file, lines)
    # lines of LLVM-made loops: the nearest source loop through glue blocks
    neighbours: dict[str, set[str]] = {b.name: set(b.succ) for b in blocks}
    for b in blocks:
        for t in b.succ:
            neighbours.setdefault(t, set()).add(b.name)
    owner = {name: h for h, lp in raw.items() if lp.lines for name in lp.blocks}
    for lp in raw.values():
        if lp.lines:
            continue
        seen = set(lp.blocks)
        frontier = [n for name in lp.blocks for n in neighbours.get(name, ()) if n not in seen]
        found = None
        for _ in range(10):
            nxt = []
            for n in frontier:
                if n in seen:
                    continue
                seen.add(n)
                if n in owner:
                    found = raw[owner[n]]
                    break
                if _glue(n):
                    nxt.extend(neighbours.get(n, ()))
            if found is not None or not nxt:
                break
            frontier = nxt
        if found is not None:
            lp.file, lp.lines = found.file, list(found.lines)
    out: dict[tuple, Loop] = {}
    vector_spans = {(lp.file, min(lp.lines), max(lp.lines))
                    for lp in raw.values() if lp.vector and lp.lines}
    for lp in raw.values():
        span = (lp.file, min(lp.lines), max(lp.lines)) if lp.lines else (None, None, None)
        vectorised = lp.vector > 0
        remainder = not vectorised and (lp.marked or span in vector_spans)
        reason = None
        if not vectorised and not remainder:
            if lp.reduction:
                reason = ("loop-carried floating-point dependency (a running sum or "
                          "recurrence, kept in source order without reassociation)")
            elif lp.calls:
                reason = "calls " + ", ".join(sorted(set(lp.calls))[:3])
            else:
                reason = ("LLVM kept it scalar (dependences between iterations, strided "
                          "or indirect access, or its cost model)")
        loop = Loop(file=os.path.basename(lp.file) if lp.file else "(inlined callee)",
                    first_line=span[1], last_line=span[2], vectorised=vectorised,
                    remainder=remainder, scalar_fp=lp.scalar, vector_fp=lp.vector,
                    lanes=lp.lanes or None, reason=reason)
        key = (loop.file, loop.first_line, loop.last_line, vectorised, remainder, reason)
        have = out.get(key)
        if have is not None:  # an unrolled or versioned copy of the same source loop
            loop = replace(loop, scalar_fp=max(have.scalar_fp, loop.scalar_fp),
                           vector_fp=max(have.vector_fp, loop.vector_fp),
                           lanes=max(have.lanes or 0, loop.lanes or 0) or None)
        out[key] = loop
    return sorted(out.values(), key=lambda lp: (lp.file, lp.first_line or 0,
                                                lp.last_line or 0, not lp.vectorised))


_ASM_PACKED = re.compile(r"^\s+v?(?:fn?m(?:add|sub)\d+p[sd]|(?:add|sub|mul|div|max|min)p[sd])\b",
                         re.MULTILINE)
_ASM_SCALAR = re.compile(r"^\s+v?(?:fn?m(?:add|sub)\d+s[sd]|(?:add|sub|mul|div)s[sd])\b", re.MULTILINE)


def count_asm(asm: str, function: str | None = None) -> tuple[int, int]:
    """(packed, scalar) floating-point arithmetic instructions in ``function``'s
    assembly (the whole text when ``None``): ``vfmadd231ps``/``vmulps``/``addpd``
    are packed, ``vfmadd231ss``/``vmulss``/``addsd`` scalar."""
    text = asm
    if function is not None:
        start = asm.find(f"\n{function}:")
        if start >= 0:
            end = asm.find(".Lfunc_end", start)
            text = asm[start:end if end >= 0 else None]
    return len(_ASM_PACKED.findall(text)), len(_ASM_SCALAR.findall(text))


# ---------------------------------------------------------------- compiling


def _clone(pyfunc: Callable[..., Any]) -> Callable[..., Any]:
    """A copy of ``pyfunc``, so a fresh dispatcher never shares numba's cache index
    (keyed by qualified name) with the production one."""
    import types

    clone = types.FunctionType(pyfunc.__code__, pyfunc.__globals__, pyfunc.__name__,
                               pyfunc.__defaults__, pyfunc.__closure__)
    clone.__qualname__ = pyfunc.__qualname__ + "__benchwatch_inspect"
    clone.__module__ = pyfunc.__module__
    return clone


def _qualname(pyfunc: Callable[..., Any]) -> str:
    name = pyfunc.__qualname__.split("__fm")[0]
    return f"{pyfunc.__module__}.{name}"


def inspect_kernel(pyfunc: Callable[..., Any], argtypes: Sequence[Any], *,
                   fastmath: Any = False, name: str | None = None,
                   benchmarks: str | None = None,
                   expected_scalar: str | None = None) -> KernelReport:
    """Compile ``pyfunc`` afresh (serial, ``fastmath`` as given) for ``argtypes`` and
    classify its innermost FP loops and its assembly."""
    import numba

    t0 = time.perf_counter()
    disp = numba.njit(cache=False, nogil=True, fastmath=fastmath)(_clone(pyfunc))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        disp.compile(tuple(argtypes))
    sig = disp.signatures[-1]
    cr = disp.overloads[sig]
    labels = {label: (blk.loc.filename, blk.loc.line)
              for label, blk in cr.type_annotation.blocks.items()}
    mangled = cr.fndesc.mangled_name
    ir = disp.inspect_llvm(sig)
    loops = analyse_llvm(ir, mangled, labels)
    packed, scalar = count_asm(disp.inspect_asm(sig), mangled)
    return KernelReport(name or _qualname(pyfunc), fastmath,
                        "(" + ", ".join(str(t) for t in sig) + ")", tuple(loops), packed,
                        scalar, benchmarks, expected_scalar, time.perf_counter() - t0)


def _front_end_class() -> Any:
    """A numba compiler that stops right after the parfor passes, returning the
    compiler state (typing, IR, ``ParforDiagnostics``) without generating code."""
    from numba.core.compiler import (
        CompilerBase,
        DefaultPassBuilder,
        _EarlyPipelineCompletion,
    )
    from numba.core.compiler_machinery import FunctionPass, register_pass
    from numba.core.typed_passes import NopythonTypeInference, ParforPreLoweringPass

    global _FRONT_END
    if _FRONT_END is not None:
        return _FRONT_END

    @register_pass(mutates_CFG=False, analysis_only=True)
    class _StopAfterParfors(FunctionPass):
        _name = "benchwatch_stop_after_parfors"

        def __init__(self) -> None:
            FunctionPass.__init__(self)

        def run_pass(self, state: Any) -> bool:
            raise _EarlyPipelineCompletion(state)

    class _ParforFrontEnd(CompilerBase):
        def define_pipelines(self) -> list:
            pm = DefaultPassBuilder.define_nopython_pipeline(self.state)
            stop_after = (ParforPreLoweringPass if self.state.flags.auto_parallel.enabled
                          else NopythonTypeInference)
            cut = [i for i, (p, _) in enumerate(pm.passes) if p is stop_after]
            pm.passes = pm.passes[:cut[0] + 1]
            pm.add_pass(_StopAfterParfors, "stop after the parfor passes")
            pm.finalize()
            return [pm]

    _FRONT_END = _ParforFrontEnd
    return _FRONT_END


_FRONT_END: Any = None


def front_end(pyfunc: Callable[..., Any], argtypes: Sequence[Any], *, parallel: bool,
              fastmath: Any = False) -> tuple[Any, list[str]]:
    """Run numba's front end on ``pyfunc`` for ``argtypes`` (typing, and with
    ``parallel`` the parfor passes); return (compiler state, warnings)."""
    from numba.core import compiler, cpu, registry

    flags = compiler.Flags()
    flags.nrt = True
    flags.release_gil = True
    flags.auto_parallel = cpu.ParallelOptions(bool(parallel))
    flags.fastmath = cpu.FastMathOptions(fastmath)
    target = registry.cpu_target
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        state = compiler.compile_extra(target.typing_context, target.target_context, pyfunc,
                                       tuple(argtypes), None, flags, {},
                                       pipeline_class=_front_end_class())
    clean = re.compile(r"\x1b\[[0-9;]*m")
    return state, [" ".join(clean.sub("", str(w.message)).split()) for w in caught]


def _prange_lines(pyfunc: Callable[..., Any]) -> tuple[str, list[int]]:
    """File and absolute line of every ``for ... in prange(...)`` in ``pyfunc``."""
    import ast
    import inspect
    import textwrap

    lines, start = inspect.getsourcelines(pyfunc)
    tree = ast.parse(textwrap.dedent("".join(lines)))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.For) and isinstance(node.iter, ast.Call):
            f = node.iter.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(
                f, ast.Attribute) else None
            if name in ("prange", "pndindex"):
                found.append(start + node.lineno - 1)
    return inspect.getsourcefile(pyfunc) or "?", sorted(found)


def parallel_report(pyfunc: Callable[..., Any], argtypes: Sequence[Any], *,
                    fastmath: Any = False, name: str | None = None
                    ) -> tuple[ParallelReport, list[tuple[Any, tuple]]]:
    """Which loops of a ``parallel=True`` kernel numba parallelised, and the
    dispatchers it calls with their argument types (from numba's typing)."""
    t0 = time.perf_counter()
    state, caught = front_end(pyfunc, argtypes, parallel=True, fastmath=fastmath)
    diag = state.parfor_diagnostics
    file, pr_lines = _prange_lines(pyfunc)
    fused = {v for vals in diag.fusion_info.values() for v in vals}
    nested: dict[int, int] = {}
    for outer, inner in diag.nested_fusion_info.items():
        for v in inner:
            nested.setdefault(v, outer)
    parfors = []
    seen_lines = set()
    for p in sorted(diag.initial_parfors, key=lambda p: p.id):
        line = p.loc.line
        seen_lines.add(line)
        status = "fused" if p.id in fused else "serialised" if p.id in nested else "parallel"
        parfors.append(ParforLoop(p.id, line, status, nested.get(p.id),
                                  "prange" if line in pr_lines else "array expression"))
    report = ParallelReport(
        name or _qualname(pyfunc), os.path.basename(file), tuple(parfors), tuple(pr_lines),
        tuple(x for x in pr_lines if x not in seen_lines),
        tuple(w for w in caught if "parallel" in w), time.perf_counter() - t0)
    return report, _callees(state)


def _callees(state: Any) -> list[tuple[Any, tuple]]:
    """(dispatcher, argument types) of every call to another numba dispatcher."""
    from numba.core import types as nbtypes

    out = []
    for call, sig in (state.calltypes or {}).items():
        if sig is None or getattr(call, "op", None) != "call":
            continue
        fty = state.typemap.get(call.func.name)
        if isinstance(fty, nbtypes.Dispatcher):
            out.append((fty.dispatcher, tuple(sig.args)))
    return out


def callees(pyfunc: Callable[..., Any], argtypes: Sequence[Any], *,
            fastmath: Any = False) -> list[tuple[Any, tuple]]:
    """The dispatchers a serial kernel calls, with their argument types."""
    state, _ = front_end(pyfunc, argtypes, parallel=False, fastmath=fastmath)
    return _callees(state)


def object_mode_report(disp: Any, args: Sequence[Any] | None = None,
                       repeats: int = 5, name: str | None = None) -> ObjectModeReport:
    """Object-mode signatures of a dispatcher; with ``args``, the call timed as it is
    and as ``njit`` of the same Python function (median of ``repeats`` runs each)."""
    # numba's own test (``Dispatcher.nopython_signatures``): an overload compiled in
    # object mode says so in its compile result
    overloads = list(disp.overloads.items())
    sigs = tuple("(" + ", ".join(str(t) for t in sig) + ")" for sig, _ in overloads)
    objs = tuple(text for text, (_, cres) in zip(sigs, overloads)
                 if getattr(cres, "objectmode", False))
    forceobj = bool(disp.targetoptions.get("forceobj", False))
    t_obj: tuple[float, ...] = ()
    t_nopy: tuple[float, ...] = ()
    if args is not None and (objs or forceobj):
        import numba

        fast = numba.njit(cache=False)(disp.py_func)
        fast(*args)
        disp(*args)
        t_obj = _timings(disp, args, repeats)
        t_nopy = _timings(fast, args, repeats)
    return ObjectModeReport(name or _qualname(disp.py_func), sigs, objs, forceobj, t_obj,
                            t_nopy)


def _timings(func: Callable[..., Any], args: Sequence[Any], repeats: int) -> tuple[float, ...]:
    """Seconds per call, one figure per repeat; each repeat runs long enough (>= 2 ms)
    for the clock."""
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            func(*args)
        dt = time.perf_counter() - t0
        if dt >= 0.002 or n >= 1 << 20:
            break
        n *= 4
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            func(*args)
        out.append((time.perf_counter() - t0) / n)
    return tuple(out)


def alloc_cost_ns(repeats: int = 5) -> tuple[float, float]:
    """Measured cost of one NRT allocate + free inside compiled code, in ns: a 64-byte
    block and a 4 KiB block (median of ``repeats`` runs of 20,000 each)."""
    import numba
    import numpy as np

    @numba.njit(cache=False)
    def churn(n, size):  # pragma: no cover - compiled
        acc = 0.0
        for i in range(n):
            a = np.empty(size, dtype=np.float64)
            a[0] = i
            acc += a[0]
        return acc

    @numba.njit(cache=False)
    def plain(n, size):  # pragma: no cover - compiled; the same loop without allocating
        acc = 0.0
        for i in range(n):
            acc += float(i)
        return acc

    n = 20_000
    out = []
    for size in (8, 512):
        churn(1, size)
        plain(1, size)
        costs = []
        for _ in range(repeats):
            t0 = time.perf_counter_ns()
            churn(n, size)
            t1 = time.perf_counter_ns()
            plain(n, size)
            t2 = time.perf_counter_ns()
            costs.append(max(0.0, ((t1 - t0) - (t2 - t1)) / n))
        costs.sort()
        out.append(costs[len(costs) // 2])
    return out[0], out[1]


def nrt_live_blocks() -> float | None:
    """NRT allocations not yet freed, or ``None`` when numba's statistics are off
    (they need ``NUMBA_NRT_STATS=1`` before numba is first imported)."""
    try:
        from numba.core.runtime import rtsys

        stats = rtsys.get_allocation_stats()
    except Exception:  # noqa: BLE001 - statistics disabled
        return None
    return float(stats.alloc - stats.free)


def leak_probe(name: str, op: Callable[[int], Any],
               checkpoints: Sequence[int] = (0, 250, 500, 750, 1000)
               ) -> list[GrowthSeries]:
    """Run ``op(i)`` up to the last checkpoint, recording the process's RSS and the
    live NRT blocks at each checkpoint (after a warm-up of 50 calls and one garbage
    collection; collecting at every checkpoint cost more than the calls)."""
    import gc

    import psutil

    proc = psutil.Process()
    for i in range(50):
        op(i)
    gc.collect()
    rss, live = [], []
    done = 0
    for cp in checkpoints:
        while done < cp:
            op(done)
            done += 1
        rss.append(float(proc.memory_info().rss))
        blocks = nrt_live_blocks()
        if blocks is not None:
            live.append(blocks)
    out = [GrowthSeries(name, (), "bytes", tuple(float(c) for c in checkpoints), tuple(rss),
                        "process RSS after N calls (benchwatch recommend's leak probe)")]
    if len(live) == len(checkpoints):
        out.append(GrowthSeries(name, (), "blocks", tuple(float(c) for c in checkpoints),
                                tuple(live), "numba NRT allocations minus frees after N calls"))
    return out


# ---------------------------------------------------------------- the engine

#: Benchmarks (a regex over asv labels ``name(params)``) each engine module's kernels
#: serve, to attach measured figures to a kernel's findings.
SERVES: dict[str, str] = {
    "engine.kernels": r"^simd\.DotProduct\.",
    "engine.allocation": r"^allocation\.(?:AllocateLatency|AllocateTime|BatchThroughput|"
                         r"ConcurrentStress)\.",
    "engine.graph": r"^e2e\.",
    "engine.text": r"^e2e\.",
    "engine.neural._kernels._mlp": r"^neural\.\w+\.\w+\('MLP'",
    "engine.neural._kernels._cnn1d": r"^neural\.\w+\.\w+\('CNN1D'",
    "engine.neural._kernels._lstm": r"^neural\.\w+\.\w+\('LSTM'",
    "engine.neural._kernels._spiking": r"^neural\.\w+\.\w+\('SPIKING'",
}

#: Kernels whose scalar loops are the point (reported, not recommended against).
EXPECTED_SCALAR: dict[tuple[str, Any], str] = {
    ("engine.kernels._dot", False): "dot_scalar is the engine's strict-order scalar "
                                    "baseline (engine/kernels.py)",
}


def _serves(name: str) -> str | None:
    best = None
    for prefix, pattern in SERVES.items():
        if name.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, pattern)
    return best[1] if best else None


def exercise_engine() -> None:
    """Call every public engine path once with small inputs, so ``engine._jit`` holds
    the dispatchers (and argument types) production uses."""
    import numpy as np

    from engine import (
        AllocationEngine,
        KnowledgeGraph,
        ModelType,
        build_network,
        kernels,
    )
    from engine.text import embed_texts

    rng = np.random.default_rng(0)
    eng = AllocationEngine(64, 8)
    eng.allocate(rng.normal(size=8))
    eng.allocate_batch(rng.normal(size=(6, 8)))
    eng.scores(rng.normal(size=8))
    eng.scores(rng.normal(size=(5, 8)))
    graph = KnowledgeGraph(8)
    graph.add_entities(rng.normal(size=(20, 8)).astype(np.float32),
                       [str(i) for i in range(20)])
    graph.query_similar(rng.normal(size=8).astype(np.float32), 3)
    embed_texts(["hashed n-gram embedding"] * 4, dim=16)
    embed_texts(["hashed n-gram embedding"] * 64, dim=16)  # the parallel variant
    for model in ModelType:
        net = build_network(model, 8)
        net.infer(np.ones(8, net.dtype))
        net.infer_batch(np.ones((3, 8), net.dtype))
    for f in (kernels.dot_scalar, kernels.dot_simd):
        f(np.ones(4, np.float32), np.ones(4, np.float32))


def engine_leak_probes() -> list[GrowthSeries]:
    """Leak probes of the engine's repeated calls: allocate, a batch inference per
    model type, a graph query and an embedding."""
    import numpy as np

    from engine import AllocationEngine, KnowledgeGraph, ModelType, build_network
    from engine.text import embed_texts

    rng = np.random.default_rng(1)
    eng = AllocationEngine(256, 32)
    xs = rng.normal(size=(64, 32))
    out = leak_probe("engine.AllocationEngine.allocate", lambda i: eng.allocate(xs[i % 64]))
    for model in ModelType:
        net = build_network(model, 16, seed=0)
        X = rng.normal(size=(16, 16)).astype(net.dtype)
        out += leak_probe(f"engine.Network.infer_batch[{model.name}]",
                          lambda i, net=net, X=X: net.infer_batch(X))
    graph = KnowledgeGraph(32)
    graph.add_entities(rng.normal(size=(500, 32)).astype(np.float32),
                       [str(i) for i in range(500)])
    q = rng.normal(size=(64, 32)).astype(np.float32)
    out += leak_probe("engine.KnowledgeGraph.query_similar",
                      lambda i: graph.query_similar(q[i % 64], 5))
    out += leak_probe("engine.text.embed_texts",
                      lambda i: embed_texts(["a short document about kernels"], dim=64))
    return out


def _has_float(argtypes: Sequence[Any]) -> bool:
    """Whether any argument is a float or an array of floats: a kernel without one
    does no floating-point arithmetic worth vectorising (counters, hashes, heaps
    of indices)."""
    from numba.core import types as nbtypes

    for t in argtypes:
        dtype = getattr(t, "dtype", t)
        if isinstance(dtype, nbtypes.Float):
            return True
    return False


def _static_callees(pyfunc: Callable[..., Any]) -> list[Any]:
    """Dispatchers ``pyfunc``'s code names that numba compiles as separate functions
    (not ``inline='always'``, which numba pastes into the caller): the kernels whose
    argument types only the caller's typing can tell."""
    from numba.core.dispatcher import Dispatcher

    names: set[str] = set()
    stack = [pyfunc.__code__]
    while stack:
        code = stack.pop()
        names.update(code.co_names)
        stack.extend(c for c in code.co_consts if hasattr(c, "co_names"))
    out = []
    for n in sorted(names):
        obj = pyfunc.__globals__.get(n)
        if isinstance(obj, Dispatcher) and obj.targetoptions.get("inline", "never") != "always":
            out.append(obj)
    return out


def engine_diagnostics(*, budget_s: float = 30.0, kernel_filter: str | None = None,
                       leaks: bool = True,
                       progress: Callable[[str], None] | None = None) -> Diagnostics:
    """All diagnostics of the engine's kernels in about ``budget_s`` seconds.

    Order of work, most telling first:

    1. exercise the engine, so ``engine._jit`` holds every kernel it compiles;
    2. the front end of each kernel that calls other kernels (their argument types
       come from its typing); for a parallel one this is its parfor report too;
    3. vectorisation of those callees (the hot inner loops) and of the kernels that
       call none, parallel ones excepted: a parallel kernel's loops are its
       callees' or the same inlined rows as a serial kernel's;
    4. the parfor report of the remaining parallel kernels.

    Once ``budget_s`` of wall time is spent the rest is listed as skipped; the NRT
    allocation cost and the leak probes (about two seconds) always run.
    """
    t_start = time.perf_counter()
    say = progress or (lambda msg: None)
    import llvmlite.binding as llvm
    import numba

    from engine import _jit

    def over_budget(what: str) -> bool:
        if time.perf_counter() - t_start < budget_s:
            return False
        skipped.append(f"{what}: over the {budget_s:g} s budget")
        return True

    errors: list[str] = []
    skipped: list[str] = []
    say("exercising the engine's public API")
    exercise_engine()
    roots: dict[Any, dict[str, Any]] = {}
    for (pyfunc, fastmath, parallel), disp in list(_jit._variants.items()):
        sigs = list(disp.signatures)
        entry = roots.setdefault(pyfunc, {"fastmath": [], "parallel": False, "sig": None,
                                          "dispatchers": []})
        if _fm_key(fastmath) not in entry["fastmath"]:
            entry["fastmath"].append(_fm_key(fastmath))
        entry["parallel"] |= parallel
        entry["dispatchers"].append(disp)
        if sigs and entry["sig"] is None:
            entry["sig"] = tuple(sigs[0])
    order = sorted(roots, key=_qualname)
    object_mode = [object_mode_report(d, name=_qualname(f))
                   for f in order for d in roots[f]["dispatchers"] if d.signatures]
    parallel_reports = []
    todo: dict[tuple[Any, Any], tuple] = {}  # (pyfunc, fastmath key) -> argtypes
    callers = {f for f in order if _static_callees(f)}
    rx = re.compile(kernel_filter) if kernel_filter else None

    def front(pyfunc: Callable[..., Any]) -> list[tuple[Any, tuple]]:
        entry, name = roots[pyfunc], _qualname(pyfunc)
        try:
            if entry["parallel"]:
                say(f"parallel diagnostics of {name}")
                report, calls = parallel_report(pyfunc, entry["sig"], name=name)
                parallel_reports.append(report)
                return calls
            say(f"typing {name}")
            return callees(pyfunc, entry["sig"])
        except Exception as exc:  # noqa: BLE001 - one kernel must not stop the rest
            errors.append(f"{name}: front end failed: {type(exc).__name__}: {exc}")
            return []

    for pyfunc in order:  # 2.
        if pyfunc in callers and roots[pyfunc]["sig"] is not None and \
                not over_budget(f"{_qualname(pyfunc)} (front end)"):
            for disp, argtypes in front(pyfunc):
                key = (disp.py_func, _fm_key(disp.targetoptions.get("fastmath", False)))
                if key not in todo:
                    todo[key] = argtypes
                    if disp.signatures:
                        object_mode.append(object_mode_report(disp))
    for pyfunc in order:
        entry = roots[pyfunc]
        if entry["sig"] is not None and not entry["parallel"] and pyfunc not in callers:
            for fm in entry["fastmath"]:
                todo.setdefault((pyfunc, fm), entry["sig"])
    kernels = []
    for (pyfunc, fm_key), argtypes in todo.items():  # 3.
        name = _qualname(pyfunc)
        fm = _fm_value(fm_key)
        if (rx is not None and not rx.search(name)) or not _has_float(argtypes):
            continue
        if over_budget(f"{name} (fastmath={_plain(fm)}, vectorisation)"):
            continue
        say(f"vectorisation of {name} (fastmath={_plain(fm)})")
        try:
            kernels.append(inspect_kernel(pyfunc, argtypes, fastmath=fm, name=name,
                                          benchmarks=_serves(name),
                                          expected_scalar=EXPECTED_SCALAR.get((name, fm_key))))
        except Exception as exc:  # noqa: BLE001
            errors.append(f"{name}: compile failed: {type(exc).__name__}: {exc}")
    for pyfunc in order:  # 4.
        entry = roots[pyfunc]
        if entry["parallel"] and pyfunc not in callers and entry["sig"] is not None and \
                not over_budget(f"{_qualname(pyfunc)} (parallel diagnostics)"):
            front(pyfunc)
    say("measuring the NRT allocation cost")
    cost = alloc_cost_ns()
    leak_series: list[GrowthSeries] = []
    if leaks:
        say("leak probes")
        leak_series = engine_leak_probes()
    parallel_reports.sort(key=lambda r: r.kernel)
    return Diagnostics(numba.__version__, int(numba.config.NUMBA_NUM_THREADS),
                       llvm.get_host_cpu_name(), tuple(kernels), tuple(parallel_reports),
                       tuple(object_mode), cost, tuple(leak_series), tuple(skipped),
                       tuple(errors), time.perf_counter() - t_start)


def _fm_key(fm: Any) -> Any:
    return frozenset(fm) if isinstance(fm, (set, frozenset)) else fm


def _fm_value(fm: Any) -> Any:
    return set(fm) if isinstance(fm, frozenset) else fm


def enable_nrt_stats() -> None:
    """Turn numba's NRT statistics on for this process, if numba is not imported yet
    (numba reads ``NUMBA_NRT_STATS`` once, at import); an explicit setting wins."""
    if "numba" not in sys.modules:
        os.environ.setdefault("NUMBA_NRT_STATS", "1")
