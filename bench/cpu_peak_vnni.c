// VNNI int8 peak beside the fp32 FMA peak, per thread count (the int8 kernels' ceiling).
//  1) core clock: chain of dependent 64-bit adds (1 cycle latency) -> adds/s = Hz
//  2) FP32 AVX-512 FMA throughput: 12 independent zmm accumulators (as ../shared/bench/cpu_peak.c)
//  3) AVX-512 VNNI VPDPBUSD throughput: 24 independent zmm accumulators, register operands only;
//     one VPDPBUSD = 16 lanes x 4 u8*s8 products = 64 MACs (reported as GMAC/s and as GOP/s = 2x)
// Build and run (make.d/bench.mk: make cpu-peak-vnni):
//   gcc -O2 -mavx512f -mavx512vnni -fopenmp bench/cpu_peak_vnni.c -o bin/cpu_peak_vnni && bin/cpu_peak_vnni
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

// cpu is the calling thread's CPU time: on a shared machine the rate per second of CPU time a thread
// actually got is the steadier figure (the wall-clock rates are printed too).
static double cpu(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static double clock_hz(void) {
  const long iters = 100000000;  // x 10 adds
  long x = 0;
  double best = 0;
  for (int rep = 0; rep < 5; rep++) {
    double t0 = now();
    for (long i = 0; i < iters; i++) {
      __asm__ volatile(
          "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
          "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
          : "+r"(x));
    }
    double hz = iters * 10.0 / (now() - t0);
    if (hz > best) best = hz;
  }
  return best;
}

static float fma_loop(long iters) {
  __m512 a0 = _mm512_set1_ps(1.00f), a1 = _mm512_set1_ps(1.01f), a2 = _mm512_set1_ps(1.02f);
  __m512 a3 = _mm512_set1_ps(1.03f), a4 = _mm512_set1_ps(1.04f), a5 = _mm512_set1_ps(1.05f);
  __m512 a6 = _mm512_set1_ps(1.06f), a7 = _mm512_set1_ps(1.07f), a8 = _mm512_set1_ps(1.08f);
  __m512 a9 = _mm512_set1_ps(1.09f), a10 = _mm512_set1_ps(1.10f), a11 = _mm512_set1_ps(1.11f);
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (long i = 0; i < iters; i++) {
    a0 = _mm512_fmadd_ps(a0, m, c); a1 = _mm512_fmadd_ps(a1, m, c);
    a2 = _mm512_fmadd_ps(a2, m, c); a3 = _mm512_fmadd_ps(a3, m, c);
    a4 = _mm512_fmadd_ps(a4, m, c); a5 = _mm512_fmadd_ps(a5, m, c);
    a6 = _mm512_fmadd_ps(a6, m, c); a7 = _mm512_fmadd_ps(a7, m, c);
    a8 = _mm512_fmadd_ps(a8, m, c); a9 = _mm512_fmadd_ps(a9, m, c);
    a10 = _mm512_fmadd_ps(a10, m, c); a11 = _mm512_fmadd_ps(a11, m, c);
  }
  __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                           _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
  s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
  float out[16];
  _mm512_storeu_ps(out, s);
  return out[0];
}

static int vnni_loop(long iters) {
  // 24 independent accumulators (as the int8 conv tile keeps), in assembly: VPDPBUSD's latency is
  // several cycles, so fewer chains would measure the latency, and compilers spill an array of 24.
  __asm__ volatile(
      "vpternlogd $0xff, %%zmm24, %%zmm24, %%zmm24\n\t"
      "vpternlogd $0xff, %%zmm25, %%zmm25, %%zmm25\n\t"
      "1:\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm0\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm1\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm2\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm3\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm4\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm5\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm6\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm7\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm8\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm9\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm10\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm11\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm12\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm13\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm14\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm15\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm16\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm17\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm18\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm19\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm20\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm21\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm22\n\t"
      "vpdpbusd %%zmm25, %%zmm24, %%zmm23\n\t"
      "dec %0\n\t"
      "jnz 1b\n\t"
      : "+r"(iters)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "cc");
  return (int)iters;
}

int main(void) {
  const long iters = 50000000;
  double hz = clock_hz();
  printf("{\"clock_hz_dep_add\": %.0f", hz);
  // One thread, by thread CPU time: best of 200 short runs (~1 ms each), so some run undisturbed.
  double cf = 0, cv = 0;
  const long short_iters = iters / 200;
  for (int rep = 0; rep < 200; rep++) {
    double c0 = cpu();
    float f = fma_loop(short_iters);
    double c1 = cpu();
    int v = vnni_loop(short_iters);
    double c2 = cpu();
    if ((double)short_iters * 12 * 16 * 2 / (c1 - c0) > cf) cf = (double)short_iters * 12 * 16 * 2 / (c1 - c0);
    if ((double)short_iters * 24 * 64 / (c2 - c1) > cv) cv = (double)short_iters * 24 * 64 / (c2 - c1);
    if (f == 12345 && v == 12345) printf(" ");
  }
  printf(", \"fp32_fma_flops_per_cpu_s\": %.4g, \"vnni_macs_per_cpu_s\": %.4g", cf, cv);
  int maxt = omp_get_max_threads();
  for (int t = 1; t <= maxt; t++) {
    double bf = 0, bv = 0;
    long sink = 0;
    for (int rep = 0; rep < 5; rep++) {
      double t0 = now();
#pragma omp parallel num_threads(t) reduction(+ : sink)
      sink += (long)fma_loop(iters);
      double f = (double)t * iters * 12 * 16 * 2 / (now() - t0);
      if (f > bf) bf = f;
      t0 = now();
#pragma omp parallel num_threads(t) reduction(+ : sink)
      sink += vnni_loop(iters / 2);
      double v = (double)t * (iters / 2) * 24 * 64 / (now() - t0);
      if (v > bv) bv = v;
    }
    printf(", \"fp32_fma_flops_%dthr\": %.4g, \"vnni_macs_%dthr\": %.4g, \"vnni_instr_per_cycle_%dthr\": %.3f", t, bf,
           t, bv + 0 * (double)sink, t, bv / 64 / hz / t);
  }
  printf("}\n");
  return 0;
}
