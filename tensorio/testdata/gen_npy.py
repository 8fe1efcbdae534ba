# Writes the .npy fixtures read by tensorio's tests, using NumPy itself as the reference writer.
# Run from this folder with Debian's Python: /usr/bin/python3 gen_npy.py
import numpy as np
from numpy.lib import format as npf

def save(name, a, version=None):
    with open(name, "wb") as f:
        npf.write_array(f, a, version=version, allow_pickle=False)

save("f32_v1.npy", np.arange(24, dtype="<f4").reshape(2, 3, 4) / 8 - 1, (1, 0))
save("f16_v1.npy", np.array([[0.5, -2.0, 65504.0]], dtype="<f2"), (1, 0))
save("i64_v2.npy", np.array([-3, 0, 1 << 40], dtype="<i8"), (2, 0))
save("i32_v3.npy", np.array([[7, -7], [1 << 30, -1]], dtype="<i4"), (3, 0))
save("i8_v1.npy", np.array([-128, -1, 0, 127], dtype="i1"), (1, 0))
save("u8_scalar.npy", np.array(200, dtype="u1"), (1, 0))
save("bool_v1.npy", np.array([True, False, True]), (1, 0))
save("empty_f32.npy", np.zeros((0, 3), dtype="<f4"), (1, 0))
save("fortran.npy", np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)), (1, 0))
save("bigendian.npy", np.arange(3, dtype=">f4"), (1, 0))
save("f64.npy", np.arange(3, dtype="<f8"), (1, 0))
