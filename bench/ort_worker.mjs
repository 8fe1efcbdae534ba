// ONNX Runtime worker for the peer harness (harness.py): times ONE configuration in this process and
// prints one line `RESULT {json}`. harness.py runs it in a fresh `node` process under /usr/bin/time -v.
//
//   node bench/ort_worker.mjs --model models/resnet50/model.onnx --size 224 --batch 1 --threads 2 \
//        [--warmup 5] [--min-runs 20] [--min-seconds 2] [--max-seconds 30]
//
// Session: CPU execution provider (the only one the npm package ships without the CUDA download),
// intra-op threads = --threads, inter-op 1, sequential execution, all graph optimizations, the default
// CPU memory arena and weight prepacking (ORT's fastest defaults for batch-1 CNNs on this machine).
import fs from 'node:fs';
import ort from 'onnxruntime-node';

function parseArgs(argv) {
  const a = { model: '', size: 224, batch: 1, threads: 1, warmup: 5, minRuns: 20, minSeconds: 2, maxSeconds: 30 };
  const num = { '--size': 'size', '--batch': 'batch', '--threads': 'threads', '--warmup': 'warmup',
    '--min-runs': 'minRuns', '--min-seconds': 'minSeconds', '--max-seconds': 'maxSeconds' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--model') a.model = argv[++i];
    else if (k in num) a[num[k]] = Number(argv[++i]);
    else throw new Error(`ort_worker: unknown argument ${k}`);
  }
  if (!a.model) throw new Error('ort_worker: --model is required');
  return a;
}

// VmRSS / VmHWM in bytes
function procStatus() {
  const d = {};
  for (const line of fs.readFileSync('/proc/self/status', 'utf8').split('\n')) {
    const m = line.match(/^(VmRSS|VmHWM):\s+(\d+) kB/);
    if (m) d[m[1]] = Number(m[2]) * 1024;
  }
  return d;
}

// Same statistics as `wanwu bench`: median of an even count is the mean of the middle two, p90 is the
// nearest rank.
function stats(ms) {
  const s = [...ms].sort((x, y) => x - y);
  const n = s.length;
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  return { min_ms: s[0], median_ms: median, p90_ms: s[Math.ceil(0.9 * n) - 1], max_ms: s[n - 1] };
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const sess = await ort.InferenceSession.create(a.model, {
    intraOpNumThreads: a.threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all', executionProviders: ['cpu'],
  });
  const loadMS = performance.now() - t0;
  const afterLoad = procStatus();
  const shape = [a.batch, 3, a.size, a.size];
  const x = new Float32Array(shape.reduce((p, q) => p * q, 1));
  let seed = 12345; // seeded uniform noise in [-1, 1): the values do not change a dense CNN's speed
  for (let i = 0; i < x.length; i++) { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; x[i] = seed / 2 ** 31 - 1; }
  const feeds = { [sess.inputNames[0]]: new ort.Tensor('float32', x, shape) };

  for (let i = 0; i < a.warmup; i++) await sess.run(feeds);
  const times = [];
  const start = performance.now();
  for (;;) {
    const t = performance.now();
    await sess.run(feeds);
    times.push(performance.now() - t);
    const elapsed = (performance.now() - start) / 1e3;
    if (times.length >= a.minRuns && elapsed >= a.minSeconds) break;
    if (elapsed >= a.maxSeconds) break;
  }
  const st = stats(times);
  const res = {
    framework: 'onnxruntime', version: ort.env.versions?.common ?? '1.30.0', size: a.size, batch: a.batch,
    threads: a.threads, precision: 'fp32', ...st, images_per_s: a.batch * 1000 / st.median_ms, runs: times.length,
    load_ms: loadMS, rss_after_load_bytes: afterLoad.VmRSS, peak_rss_bytes: procStatus().VmHWM,
  };
  await sess.release();
  console.log('RESULT ' + JSON.stringify(res));
}

await main();
