// Runs a .tflite model with TensorFlow Lite itself (the WebAssembly build that @tensorflow/tfjs-tflite
// ships, XNNPACK on), as an outside oracle for wanwu's TFLite importer and tflitegen's reference
// interpreter (importer/tflite/interp_test.go). Usage, in the folder the outputs should go to:
//
//	node interp.js model.tflite in0.bin [in1.bin ...]
//
// Each in<i>.bin holds input i's raw little-endian bytes in the model's own dtype and shape; each
// output i is written to out<i>.bin the same way, and one line "i name dtype d0,d1,... count" is
// printed for it. The web API gives no data for an int64 output (its dtype reads 'unknown').
'use strict';
const fs = require('fs');
const path = require('path');

const pkg = path.dirname(require.resolve('@tensorflow/tfjs-tflite/package.json'));
const wasmDir = path.join(pkg, 'wasm');
// The plain (no SIMD, no threads) build: its Emscripten factory loads under Node given the wasm bytes.
const factory = require(path.join(wasmDir, 'tflite_web_api_cc.js'));

async function main() {
  const [modelFile, ...inputFiles] = process.argv.slice(2);
  if (!modelFile) throw new Error('usage: node interp.js model.tflite in0.bin ...');
  const mod = await factory({ wasmBinary: fs.readFileSync(path.join(wasmDir, 'tflite_web_api_cc.wasm')) });
  const model = new Uint8Array(fs.readFileSync(modelFile));
  const ptr = mod._malloc(model.length);
  mod.HEAPU8.set(model, ptr);
  const made = mod.TFLiteWebModelRunner.CreateFromBufferAndOptions(ptr, model.length,
    { numThreads: 1, enableProfiling: false, maxProfilingBufferEntries: 1024 });
  if (!made.ok()) throw new Error(made.errorMessage());
  const runner = made.value();
  const list = (v) => Array.from({ length: v.size() }, (_, i) => v.get(i));
  const bytesOf = (t) => { const d = t.data(); return new Uint8Array(d.buffer, d.byteOffset, d.byteLength); };
  const inputs = list(runner.GetInputs());
  if (inputs.length !== inputFiles.length) throw new Error(`model has ${inputs.length} inputs, given ${inputFiles.length}`);
  inputs.forEach((t, i) => {
    const src = fs.readFileSync(inputFiles[i]);
    const dst = bytesOf(t);
    if (src.length !== dst.length) throw new Error(`input ${i} (${t.name}): ${src.length} bytes, want ${dst.length}`);
    dst.set(src);
  });
  if (!runner.Infer()) throw new Error('Infer failed');
  list(runner.GetOutputs()).forEach((t, i) => {
    fs.writeFileSync(`out${i}.bin`, Buffer.from(bytesOf(t)));
    console.log(i, t.name, t.dataType, String(t.shape), t.data().length);
  });
}

main().catch((e) => { console.error(String(e && e.stack || e)); process.exit(1); });
