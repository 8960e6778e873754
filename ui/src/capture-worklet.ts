// The audio-thread half of the voice memo recorder (recorder.ts): an AudioWorklet processor that
// copies the microphone's samples (already mixed to mono by the node's explicit channel count)
// into blocks of 4096 and posts each block to the page. A "flush" message posts what is left,
// then `{ flushed: true }`. Built by Vite as a file of its own (`?worker&url`), so it loads from
// the app's own origin, which both Content-Security-Policies allow for scripts.

// The AudioWorkletGlobalScope's names, which TypeScript's DOM library does not declare.
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}
declare function registerProcessor(name: string, processor: new () => AudioWorkletProcessor): void;

/** Samples a block posted to the page (about 85 ms at 48 kHz). */
const BLOCK = 4096;

class CaptureProcessor extends AudioWorkletProcessor {
  private block = new Float32Array(BLOCK);
  private filled = 0;

  constructor() {
    super();
    this.port.onmessage = (e: MessageEvent) => {
      if (e.data === 'flush') {
        this.post();
        this.port.postMessage({ flushed: true });
      }
    };
  }

  process(inputs: Float32Array[][]): boolean {
    const channel = inputs[0]?.[0];
    // No input yet (the stream has not started, or has ended): nothing to copy.
    if (!channel) return true;
    let read = 0;
    while (read < channel.length) {
      const n = Math.min(channel.length - read, BLOCK - this.filled);
      this.block.set(channel.subarray(read, read + n), this.filled);
      this.filled += n;
      read += n;
      if (this.filled === BLOCK) this.post();
    }
    return true;
  }

  /** Posts the samples gathered so far, handing the buffer over rather than copying it. */
  private post() {
    if (this.filled === 0) return;
    const samples = this.block.slice(0, this.filled);
    this.port.postMessage({ samples }, [samples.buffer]);
    this.filled = 0;
  }
}

registerProcessor('hearth-capture', CaptureProcessor);

export {};
