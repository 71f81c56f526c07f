"""Text to vectors: deterministic chunking and hashed character n-gram embeddings.

What it is for: turning documents into chunks on sentence/whitespace boundaries
and chunks into fixed-size, L2-normalised feature vectors, identically in every
process and on every run. What it must not do: tokenise linguistically, learn
anything, or rely on Python's ``hash`` (randomised per process).

Embedding recipe (``tests/naive.py`` re-implements it in plain Python):

1. A text is a sequence of Unicode code points, used as-is (no case folding or
   normalisation).
2. Its grams are the ``ngram``-long windows of code points; a non-empty text
   shorter than ``ngram`` is one gram, the whole text; an empty text has none.
3. Each gram is hashed with 64-bit FNV-1a over the 4 little-endian bytes of each
   code point, then finalised with the murmur3 ``fmix64`` mixer so that the low
   bits used for the bucket depend on every input byte.
4. bucket = hash mod ``dim``; sign = +1 if bit 63 of the hash is 0, else -1; the
   row accumulates sign into its bucket (signed feature hashing keeps collisions
   from biasing every score upwards).
5. The row is divided by its L2 norm (rows of all-cancelled or empty texts stay
   zero).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from numba import prange

from . import _jit
from ._validate import check_int
from .config import EngineConfig, resolve

DEFAULT_MAX_CHARS = 512
DEFAULT_OVERLAP = 64
DEFAULT_DIM = 256
DEFAULT_NGRAM = 3
# Below this many texts the embedding kernel runs serially: waking the thread
# pool costs more than a few short texts take.
MIN_TEXTS_FOR_PARALLEL = 64

FNV64_OFFSET = 0xCBF29CE484222325
FNV64_PRIME = 0x100000001B3
FMIX64_C1 = 0xFF51AFD7ED558CCD
FMIX64_C2 = 0xC4CEB9FE1A85EC53


# ------------------------------------------------------------------ chunking


@dataclass(frozen=True)
class Chunk:
    """A piece of a document: ``document[start:end] == text``; ``index`` is its rank."""

    text: str
    start: int
    end: int
    index: int


# A sentence ends after ., ! or ? (optionally followed by closing quotes or
# brackets) when whitespace or the end of the text follows.
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?=\s|$)")
# Every code point for which str.isspace() is true lies at or below U+3000
# (IDEOGRAPHIC SPACE); tests/test_text.py checks this against the running
# Python's Unicode database. A lookup table finds whitespace ~5x faster than a
# regex scan, and chunking is the largest step of process_document.
_MAX_SPACE = 0x3000
_IS_SPACE = np.array([chr(c).isspace() for c in range(_MAX_SPACE + 1)], dtype=np.bool_)


def _space_positions(text: str) -> list[int]:
    """Indices of the whitespace characters of ``text`` (as ``str.isspace``)."""
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    is_space = _IS_SPACE[np.minimum(codes, _MAX_SPACE)] & (codes <= _MAX_SPACE)
    return np.flatnonzero(is_space).tolist()


def chunk_text(
    text: str, max_chars: int = DEFAULT_MAX_CHARS, overlap: int = DEFAULT_OVERLAP
) -> list[Chunk]:
    """Split ``text`` into chunks of at most ``max_chars`` characters.

    Each chunk starts on a non-whitespace character and ends, in order of
    preference, at the last sentence end in the second half of its window, at the
    last whitespace in the window, or (one word longer than ``max_chars``) at
    exactly ``max_chars``. Chunks carry no leading or trailing whitespace. The next
    chunk starts at the first word that begins in the last ``overlap`` characters
    of the previous chunk, so consecutive chunks share context; there is no
    overlap if no word begins there, or if the chunk from there would end no later
    than the previous one. Every non-whitespace character is in at least one
    chunk, and both starts and ends strictly increase.

    The result depends only on the arguments. Empty or whitespace-only text gives
    ``[]``.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    max_chars = check_int("max_chars", max_chars, 1)
    overlap = check_int("overlap", overlap, 0)
    if overlap >= max_chars:
        raise ValueError(
            f"overlap ({overlap}) must be smaller than max_chars ({max_chars}), "
            "or chunks would never advance"
        )
    length = len(text)
    spaces = _space_positions(text)
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(text)]

    def next_non_space(pos: int) -> int:
        # First position >= pos that is not whitespace (length if none).
        while pos < length and text[pos].isspace():
            pos += 1
        return pos

    def trim_end(lo: int, hi: int) -> int:
        while hi > lo and text[hi - 1].isspace():
            hi -= 1
        return hi

    last = trim_end(0, length)  # end of the last non-whitespace character

    def cut(start: int) -> int:
        """End of the chunk that starts at ``start``."""
        limit = start + max_chars
        if limit >= last:
            return last  # the rest fits
        # Last sentence end in (start + max_chars // 2, limit].
        j = bisect_right(sentence_ends, limit) - 1
        if j >= 0 and sentence_ends[j] > start + max_chars // 2:
            return sentence_ends[j]
        # Last whitespace at a position in (start, limit]: cut before it.
        j = bisect_right(spaces, limit) - 1
        if j >= 0 and spaces[j] > start:
            return trim_end(start, spaces[j])
        return limit  # one word longer than max_chars: hard cut

    def overlap_start(start: int, end: int) -> int:
        """First word starting in [max(end - overlap, start + 1), end), else -1."""
        lo = max(end - overlap, start + 1)
        j = bisect_left(spaces, lo - 1)
        while j < len(spaces) and spaces[j] + 1 < end:
            cand = spaces[j] + 1
            if cand >= lo and not text[cand].isspace():
                return cand
            j += 1
        return -1

    chunks: list[Chunk] = []
    start = next_non_space(0)
    prev_end = 0
    while start < last:
        end = cut(start)
        if end <= prev_end:
            # The overlapped chunk would add nothing new: skip the overlap.
            start = next_non_space(prev_end)
            end = cut(start)
        chunks.append(Chunk(text[start:end], start, end, len(chunks)))
        if end >= last:
            break
        prev_end = end
        nxt = overlap_start(start, end) if overlap else -1
        start = nxt if nxt >= 0 else next_non_space(end)
    return chunks


# ------------------------------------------------------------------ embedding kernels


def _gram_hash(codes, lo, hi):
    """FNV-1a 64 over the little-endian bytes of codes[lo:hi], then fmix64."""
    h = np.uint64(FNV64_OFFSET)
    prime = np.uint64(FNV64_PRIME)
    mask = np.uint64(0xFF)
    for t in range(lo, hi):
        c = np.uint64(codes[t])
        for b in range(4):
            h ^= (c >> np.uint64(8 * b)) & mask
            h *= prime
    h ^= h >> np.uint64(33)
    h *= np.uint64(FMIX64_C1)
    h ^= h >> np.uint64(33)
    h *= np.uint64(FMIX64_C2)
    h ^= h >> np.uint64(33)
    return h


def _embed_hashed(codes, offsets, dim, ngram, out):
    """Fill ``out[i]`` with the normalised signed n-gram counts of text i.

    Text i is ``codes[offsets[i]:offsets[i + 1]]``. Each row is owned by one
    iteration, so the prange needs no reduction.
    """
    n_texts = offsets.shape[0] - 1
    udim = np.uint64(dim)
    top_bit = np.uint64(63)
    for i in prange(n_texts):
        lo = offsets[i]
        hi = offsets[i + 1]
        row = out[i]
        for j in range(dim):
            row[j] = 0.0
        length = hi - lo
        n_grams = length - ngram + 1
        width = ngram
        if n_grams < 1:
            n_grams = 1 if length > 0 else 0
            width = length
        for g in range(n_grams):
            h = _gram_hash_j(codes, lo + g, lo + g + width)
            bucket = np.int64(h % udim)
            if (h >> top_bit) == np.uint64(0):
                row[bucket] += 1.0
            else:
                row[bucket] -= 1.0
        # Counts are small integers, so the sum of squares is exact and the
        # result does not depend on summation order.
        sq = 0.0
        for j in range(dim):
            sq += row[j] * row[j]
        if sq > 0.0:
            norm = np.sqrt(sq)
            for j in range(dim):
                row[j] = row[j] / norm


_gram_hash_j = _jit.specialise(_gram_hash, fastmath=False, parallel=False)


def _encode(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Code points of all texts concatenated (uint32) and their offsets (int64)."""
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(t) for t in texts])
    joined = "".join(texts)
    # surrogatepass: lone surrogates are legal in a Python str and must not fail.
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return codes, offsets


def embed_texts(
    texts: Sequence[str],
    dim: int = DEFAULT_DIM,
    ngram: int = DEFAULT_NGRAM,
    config: EngineConfig | None = None,
) -> np.ndarray:
    """Hashed character n-gram embeddings, shape ``(len(texts), dim)``.

    Rows are L2-normalised (an empty text gives a zero row) and in
    ``config.dtype``. Identical inputs give identical outputs in every process.
    """
    if isinstance(texts, (str, bytes)):
        raise TypeError("texts must be a sequence of str; wrap a single text in a list")
    try:
        texts = list(texts)
    except TypeError:
        raise TypeError(f"texts must be a sequence of str, got {type(texts).__name__}") from None
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] must be a str, got {type(t).__name__}")
    dim = check_int("dim", dim, 1)
    ngram = check_int("ngram", ngram, 1)
    cfg = resolve(config)
    out = np.empty((len(texts), dim), dtype=np.float64)
    if not texts:
        return out.astype(cfg.np_dtype)
    codes, offsets = _encode(texts)
    if cfg.parallel and len(texts) >= MIN_TEXTS_FOR_PARALLEL:
        _jit.launch(_jit.for_config(_embed_hashed, cfg), cfg, codes, offsets, dim, ngram, out)
    else:
        _jit.for_config(_embed_hashed, cfg, parallel=False)(codes, offsets, dim, ngram, out)
    return out.astype(cfg.np_dtype, copy=False)
