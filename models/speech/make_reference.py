#!/usr/bin/env python3
"""Transcribes the WAV speech fixtures with whisper.cpp itself, through its Python binding
(pywhispercpp), and the same converted ggml model Hearth uses: the reference that
tests/core/speech.rs holds Hearth's transcripts to (tests/fixtures/speech/reference-whisper-cpp.tsv).

    python3 -m venv /tmp/pwc && /tmp/pwc/bin/pip install pywhispercpp==1.5.1 numpy
    /tmp/pwc/bin/python models/speech/make_reference.py models/weights/whisper-tiny-en/1/ggml-tiny.en.bin

Only 16 kHz mono 16-bit WAV files are read (no resampling or decoding on this side), so both
sides hear exactly the same samples. Greedy decoding, English, two threads.
"""
import sys
import wave
from pathlib import Path

import numpy as np
from pywhispercpp.model import Model

FIXTURES = Path(__file__).resolve().parents[2] / "tests/fixtures/speech"


def main() -> None:
    model = Model(sys.argv[1], n_threads=2, language="en", print_progress=False, print_realtime=False)
    lines = []
    for path in sorted(FIXTURES.glob("*.wav")):
        with wave.open(str(path)) as audio:
            assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (16000, 1, 2), path
            samples = np.frombuffer(audio.readframes(audio.getnframes()), dtype=np.int16).astype(np.float32) / 32768.0
        text = " ".join(segment.text.strip() for segment in model.transcribe(samples))
        lines.append(f"{path.name}\t{text}\n")
        print(path.name, text)
    (FIXTURES / "reference-whisper-cpp.tsv").write_text("".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
