# Peer comparison (bench/README.md): wanwu vs ONNX Runtime vs PyTorch on this machine, one run.
#   make bench         the full matrix (3 models x 224/160/128 x 1/2 threads, ResNet-50 batch 8; long)
#   make bench-quick   MobileNetV2 + ResNet-50 at 224, batch 1, 1 and 2 threads
#   BENCH_ARGS=...     extra harness.py arguments, e.g. BENCH_ARGS="--models resnet50 --sizes 160"
.PHONY: bench bench-quick
bench:
	bash bench/run.sh $(BENCH_ARGS)

bench-quick:
	bash bench/run.sh --quick $(BENCH_ARGS)

# VPDPBUSD (AVX-512 VNNI) peak beside the FMA peak: the ceiling the int8 kernels are reported against.
.PHONY: cpu-peak-vnni
cpu-peak-vnni:
	@mkdir -p bin
	gcc -O2 -mavx512f -mavx512vnni -fopenmp bench/cpu_peak_vnni.c -o bin/cpu_peak_vnni
	bin/cpu_peak_vnni
