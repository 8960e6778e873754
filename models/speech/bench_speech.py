#!/usr/bin/env python3
"""The reference side of `cargo xtask bench speech`: whisper.cpp itself (pywhispercpp 1.5.1)
transcribing the same 16 kHz WAV with the same converted model and two threads; prints one JSON
line like Hearth's (`hearth bench-speech`)."""
import json
import sys
import time
import wave

import numpy as np
from pywhispercpp.model import Model


def main() -> None:
    model_path, wav_path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with wave.open(wav_path) as audio:
        assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (16000, 1, 2)
        samples = np.frombuffer(audio.readframes(audio.getnframes()), dtype=np.int16).astype(np.float32) / 32768.0
    model = Model(model_path, n_threads=threads, language="en", print_progress=False, print_realtime=False)
    started = time.perf_counter()
    segments = model.transcribe(samples)
    seconds = time.perf_counter() - started
    words = sum(len(segment.text.split()) for segment in segments)
    print(json.dumps({
        "implementation": f"whisper.cpp via pywhispercpp 1.5.1 ({threads} threads)",
        "audio_seconds": len(samples) / 16000,
        "transcribe_seconds": seconds,
        "real_time_factor": seconds / (len(samples) / 16000),
        "words": words,
    }))


if __name__ == "__main__":
    main()
