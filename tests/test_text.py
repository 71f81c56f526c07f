"""engine.text: chunking rules and hashed n-gram embeddings against their naive twins."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import text as text_mod
from engine.config import EngineConfig
from engine.text import Chunk, chunk_text, embed_texts
from naive import naive_chunk_text, naive_embed, naive_gram_hash

# float64 so that rows compare exactly with the float64 naive embedding.
SERIAL = EngineConfig(parallel=False, dtype="float64")
PARALLEL = EngineConfig(parallel=True, dtype="float64")

DOC = (
    "The cat sat on the mat. It was a sunny day! Was it? Yes.  "
    "A very long sentence follows here, without any full stop for a while\n\n"
    "Final paragraph (short)."
)

# ------------------------------------------------------------------ chunking


def test_chunk_exact_figures_on_fixed_text():
    chunks = chunk_text(DOC, max_chars=40, overlap=10)
    assert chunks == [
        Chunk("The cat sat on the mat.", 0, 23, 0),
        Chunk("the mat. It was a sunny day! Was it?", 15, 51, 1),
        Chunk("Was it? Yes.  A very long sentence", 44, 78, 2),
        Chunk("sentence follows here, without any full", 70, 109, 3),
        Chunk("any full stop for a while\n\nFinal", 101, 133, 4),
        Chunk("Final paragraph (short).", 128, 152, 5),
    ]
    # Without overlap the chunks tile the text.
    assert [c.text for c in chunk_text(DOC, max_chars=40, overlap=0)] == [
        "The cat sat on the mat.",
        "It was a sunny day! Was it? Yes.",
        "A very long sentence follows here,",
        "without any full stop for a while\n\nFinal",
        "paragraph (short).",
    ]


def test_chunk_prefers_sentence_end_in_second_half():
    text = "One two three four. Five six seven eight nine ten."
    assert [c.text for c in chunk_text(text, max_chars=30, overlap=0)] == [
        "One two three four.",
        "Five six seven eight nine ten.",
    ]


def test_long_word_is_cut_hard_and_fully_covered():
    text = "x" * 25 + " tail"
    chunks = chunk_text(text, max_chars=10, overlap=3)
    # No word starts inside the overlap window, so the cut word is continued.
    assert [c.text for c in chunks] == ["x" * 10, "x" * 10, "xxxxx tail"]
    assert [c.start for c in chunks] == [0, 10, 20]


@pytest.mark.parametrize("text", ["", " ", "\n\t  \r\n", "\u2003\u00a0"])
def test_empty_or_whitespace_text_gives_no_chunks(text):
    assert chunk_text(text) == []


def test_short_text_is_one_trimmed_chunk():
    assert chunk_text("  hello world \n") == [Chunk("hello world", 2, 13, 0)]


@pytest.mark.parametrize(
    "kwargs, exc, message",
    [
        ({"text": b"bytes"}, TypeError, "text must be a str, got bytes"),
        ({"text": None}, TypeError, "text must be a str, got NoneType"),
        ({"text": "a", "max_chars": 0}, ValueError, "max_chars must be >= 1, got 0"),
        ({"text": "a", "max_chars": 5.0}, TypeError, "max_chars must be an int"),
        ({"text": "a", "overlap": -1}, ValueError, "overlap must be >= 0"),
        ({"text": "a", "max_chars": 10, "overlap": 10}, ValueError, r"overlap \(10\) must be smaller than max_chars \(10\)"),
    ],
)
def test_chunk_bad_input(kwargs, exc, message):
    with pytest.raises(exc, match=message):
        chunk_text(**kwargs)


def check_chunk_invariants(text, chunks, max_chars):
    assert [c.index for c in chunks] == list(range(len(chunks)))
    covered = np.zeros(len(text), dtype=bool)
    for a, c in enumerate(chunks):
        assert text[c.start : c.end] == c.text
        assert 1 <= len(c.text) <= max_chars
        assert not c.text[0].isspace() and not c.text[-1].isspace()
        if a:
            assert c.start > chunks[a - 1].start and c.end > chunks[a - 1].end
        covered[c.start : c.end] = True
    for i, ch in enumerate(text):
        assert covered[i] or ch.isspace(), f"character {i} ({ch!r}) is in no chunk"


_words = st.lists(
    st.one_of(
        st.text(alphabet="abcXY", min_size=1, max_size=12),
        st.sampled_from([".", "!", "?", '."', ".)", "?'", "...", "\u2003", "\n\n", " ", "  ", "\t"]),
    ),
    max_size=60,
).map(lambda parts: "".join(p if p.strip() == "" else p + " " * (len(p) % 2) for p in parts))


@given(
    st.one_of(_words, st.text(max_size=200)),
    st.integers(1, 40),
    st.integers(0, 39),
)
def test_chunking_matches_naive_and_keeps_invariants(text, max_chars, overlap):
    overlap = min(overlap, max_chars - 1)
    chunks = chunk_text(text, max_chars=max_chars, overlap=overlap)
    assert [(c.text, c.start, c.end) for c in chunks] == naive_chunk_text(text, max_chars, overlap)
    check_chunk_invariants(text, chunks, max_chars)
    assert chunk_text(text, max_chars=max_chars, overlap=overlap) == chunks  # deterministic


def test_whitespace_table_covers_every_space_character():
    # The chunker's lookup table stops at U+3000; no whitespace lies above it.
    assert max(c for c in range(0x110000) if chr(c).isspace()) == text_mod._MAX_SPACE
    sample = "a\u3000b\u2028c\x1cd\u00a0e\U0001F600 \ud800\tf"
    assert text_mod._space_positions(sample) == [i for i, ch in enumerate(sample) if ch.isspace()]


def test_chunk_is_frozen():
    c = chunk_text("abc")[0]
    with pytest.raises(AttributeError):
        c.text = "x"


# ------------------------------------------------------------------ embedding


def test_gram_hash_reference_value():
    # FNV-1a 64 of the 4 bytes 61 00 00 00, then fmix64, computed by hand in
    # plain integers: a fixed point the kernel and the reference must share.
    h = 0xCBF29CE484222325
    for byte in (0x61, 0, 0, 0):
        h = ((h ^ byte) * 0x100000001B3) % 2**64
    for mult in (0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53):
        h ^= h >> 33
        h = (h * mult) % 2**64
    h ^= h >> 33
    assert naive_gram_hash("a") == h
    row = embed_texts(["a"], dim=1000, ngram=3, config=SERIAL)[0]
    assert np.flatnonzero(row).tolist() == [h % 1000]
    assert row[h % 1000] == (-1.0 if h >> 63 else 1.0)


FIXED_TEXTS = [
    "", "a", "ab", "abc", "abcd", "aaaa", "Hello, world!", "hello, world!",
    "naïve café — ünïcödé", "emoji 😀🎉 and CJK 漢字", "\x00\x01\x7f", "\ud800 lone surrogate",
    "The quick brown fox jumps over the lazy dog. " * 5,
]


@pytest.mark.parametrize("dim, ngram", [(1, 1), (7, 2), (64, 3), (256, 3), (300, 5)])
def test_embed_equals_naive_exactly(dim, ngram):
    got = embed_texts(FIXED_TEXTS, dim=dim, ngram=ngram, config=SERIAL)
    assert got.shape == (len(FIXED_TEXTS), dim) and got.dtype == np.float64
    for row, t in zip(got, FIXED_TEXTS):
        np.testing.assert_array_equal(row, naive_embed(t, dim, ngram))


@given(st.lists(st.text(max_size=40), max_size=8), st.integers(1, 50), st.integers(1, 4))
def test_embed_matches_naive_on_arbitrary_text(texts, dim, ngram):
    got = embed_texts(texts, dim=dim, ngram=ngram, config=SERIAL)
    assert got.shape == (len(texts), dim)
    for row, t in zip(got, texts):
        np.testing.assert_array_equal(row, naive_embed(t, dim, ngram))
        norm = np.linalg.norm(row)
        assert norm == 0.0 or abs(norm - 1.0) < 1e-12


def test_parallel_path_and_configs_agree():
    rng = np.random.default_rng(0)
    texts = ["".join(rng.choice(list("abcdef ."), size=rng.integers(0, 80))) for _ in range(200)]
    assert len(texts) >= text_mod.MIN_TEXTS_FOR_PARALLEL
    serial = embed_texts(texts, config=SERIAL)
    np.testing.assert_array_equal(embed_texts(texts, config=PARALLEL), serial)
    fast = embed_texts(texts, config=EngineConfig(fastmath=True, dtype="float64"))
    np.testing.assert_allclose(fast, serial, rtol=1e-12, atol=1e-15)
    f32 = embed_texts(texts, config=EngineConfig(dtype="float32"))
    assert f32.dtype == np.float32
    np.testing.assert_array_equal(f32, serial.astype(np.float32))
    for i in (0, 57, 199):
        np.testing.assert_array_equal(serial[i], naive_embed(texts[i], 256, 3))


def test_empty_list_and_empty_text():
    out = embed_texts([], dim=5, config=SERIAL)
    assert out.shape == (0, 5)
    np.testing.assert_array_equal(embed_texts(["", ""], dim=4, config=SERIAL), np.zeros((2, 4)))


def test_similar_texts_score_higher():
    e = embed_texts(["the cat sat on the mat", "the cat sat on a mat", "quantum chromodynamics"], config=SERIAL)
    assert e[0] @ e[1] > 0.6 > 0.2 > e[0] @ e[2]


@pytest.mark.parametrize(
    "args, exc, message",
    [
        (("just a string",), TypeError, "wrap a single text in a list"),
        ((["ok", 3],), TypeError, r"texts\[1\] must be a str, got int"),
        ((5,), TypeError, "texts must be a sequence of str, got int"),
        ((["a"], 0), ValueError, "dim must be >= 1, got 0"),
        ((["a"], 8, 0), ValueError, "ngram must be >= 1, got 0"),
        ((["a"], 8.0), TypeError, "dim must be an int"),
    ],
)
def test_embed_bad_input(args, exc, message):
    with pytest.raises(exc, match=message):
        embed_texts(*args, config=SERIAL)


def test_embeddings_are_identical_across_processes():
    texts = ["determinism across processes", "", "ab", "ünïcödé 😀"]
    script = (
        "import sys, numpy as np\n"
        "from engine.config import EngineConfig\n"
        "from engine.text import embed_texts\n"
        f"e = embed_texts({texts!r}, dim=64, ngram=3, config=EngineConfig(parallel=False, dtype='float64'))\n"
        "sys.stdout.write(e.tobytes().hex())\n"
    )
    here = embed_texts(texts, dim=64, ngram=3, config=SERIAL)
    src = os.path.join(os.path.dirname(__file__), os.pardir, "src")
    outputs = set()
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=src)
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
        outputs.add(out.stdout)
    assert outputs == {here.tobytes().hex()}
