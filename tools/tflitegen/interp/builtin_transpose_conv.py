# Rewrites MediaPipe's custom Convolution2DTransposeBias into the builtin TRANSPOSE_CONV with its bias (same
# semantics: TRANSPOSE_CONV computes its padding from output_shape, which is the custom op's output
# size), so a stock TFLite interpreter can run the model:
#     /usr/bin/python3 builtin_transpose_conv.py IN.tflite OUT.tflite
# The new tables are prepended to the file: every reference from them into the old ones points
# forward, as flatbuffers' unsigned offsets must, and the old bytes stay as they are.
import struct, sys
old = open(sys.argv[1], 'rb').read()
u32 = lambda b, p: struct.unpack_from('<I', b, p)[0]
def table(p):  # -> dict field -> absolute position of the field (old file)
    vt = p - struct.unpack_from('<i', old, p)[0]
    vlen = struct.unpack_from('<H', old, vt)[0]
    f = {}
    for i in range((vlen - 4) // 2):
        o = struct.unpack_from('<H', old, vt + 4 + 2 * i)[0]
        if o: f[i] = p + o
    return f
deref = lambda p: p + u32(old, p)
def vec(p):  # absolute position of vector -> list of element positions
    n = u32(old, p); return [p + 4 + 4 * i for i in range(n)]
root = u32(old, 0); M = table(root)
codes = [deref(e) for e in vec(deref(M[1]))]
def code_name(c):
    f = table(c)
    if 1 in f: s = deref(f[1]); return old[s + 4:s + 4 + u32(old, s)].decode()
custom_idx = [i for i, c in enumerate(codes) if code_name(c) == 'Convolution2DTransposeBias']
sg = deref(vec(deref(M[2]))[0]); S = table(sg)
tensors = [deref(e) for e in vec(deref(S[0]))]
ops = [deref(e) for e in vec(deref(S[3]))]
buffers = [deref(e) for e in vec(deref(M[4]))]
def shape_of(t):
    v = deref(table(t)[0]); return [struct.unpack_from('<i', old, v + 4 + 4 * i)[0] for i in range(u32(old, v))]

# The new front part: objects laid in increasing address order; refs resolved after layout.
class W:
    def __init__(s): s.b = bytearray(8); s.fix = []  # (pos, target_obj or ('old', abs))
    def align(s, n):
        while len(s.b) % n: s.b += b'\0'
    def pos(s): return len(s.b)
w = W()
objs = {}
def put_vec_refs(name, targets):  # targets: list of ('old', abs) or ('new', name)
    w.align(4); objs[name] = w.pos(); w.b += struct.pack('<I', len(targets))
    for t in targets: w.fix.append((w.pos(), t)); w.b += b'\0' * 4
def put_vec_i32(name, vals):
    w.align(4); objs[name] = w.pos(); w.b += struct.pack('<I', len(vals)) + b''.join(struct.pack('<i', v) for v in vals)
def put_bytes(name, data):
    w.align(16); w.b += b'\0' * ((-(w.pos() + 4)) % 16); objs[name] = w.pos(); w.b += struct.pack('<I', len(data)) + data
def put_table(name, fields):  # fields: list index -> None | ('u32'|'i32'|'u8'|'i8', v) | ('ref', target)
    sizes = {'u32': 4, 'i32': 4, 'u8': 1, 'i8': 1, 'ref': 4}
    n = len(fields)
    w.align(4)
    vt = w.pos(); w.b += b'\0' * (4 + 2 * n); w.align(4)
    tp = w.pos(); w.b += struct.pack('<i', tp - vt)
    offs = []
    for f in fields:
        if f is None: offs.append(0); continue
        k, v = f; w.align(sizes[k]); offs.append(w.pos() - tp)
        if k == 'ref': w.fix.append((w.pos(), v)); w.b += b'\0' * 4
        else: w.b += struct.pack({'u32': '<I', 'i32': '<i', 'u8': '<B', 'i8': '<b'}[k], v)
    struct.pack_into('<HH', w.b, vt, 4 + 2 * n, w.pos() - tp)
    for i, o in enumerate(offs): struct.pack_into('<H', w.b, vt + 4 + 2 * i, o)
    objs[name] = tp
old_ref = lambda table_fields, i: ('ref', ('old', deref(table_fields[i]))) if i in table_fields else None
new_code = len(codes)
new_tensors, new_buffers, op_targets, rewritten = [], [], [], []
for k, op in enumerate(ops):
    f = table(op)
    if (u32(old, f[0]) if 0 in f else 0) not in custom_idx: op_targets.append(('old', op)); continue
    new_tensors.append(('new', f'tensor{k}')); new_buffers.append(('new', f'buf{k}')); op_targets.append(('new', f'op{k}'))
    rewritten.append((k, f))
# Top-down: each object refers only to objects laid after it.
put_table('model', [('u32', u32(old, M[0])), ('ref', ('new', 'codes')), ('ref', ('new', 'sgs')), old_ref(M, 3),
                    ('ref', ('new', 'buffers')), old_ref(M, 5), old_ref(M, 6), old_ref(M, 7)])
put_vec_refs('sgs', [('new', 'sg')])
put_table('sg', [('ref', ('new', 'tensors')), old_ref(S, 1), old_ref(S, 2), ('ref', ('new', 'ops')), old_ref(S, 4)])
put_vec_refs('codes', [('old', c) for c in codes] + [('new', 'code')])
put_vec_refs('tensors', [('old', t) for t in tensors] + new_tensors)
put_vec_refs('ops', op_targets)
put_vec_refs('buffers', [('old', b) for b in buffers] + new_buffers)
put_table('code', [('i8', 67), None, ('i32', 1), ('i32', 67)])
for j, (k, f) in enumerate(rewritten):
    ins = [struct.unpack_from('<i', old, e)[0] for e in vec(deref(f[1]))]
    co = deref(f[5]); padding, sw, shh = struct.unpack_from('<iii', old, co + 4)
    x, wgt, bias = ins
    y = struct.unpack_from('<i', old, vec(deref(f[2]))[0])[0]
    ti, bi = len(tensors) + j, len(buffers) + j
    # TFLite's Padding enum: SAME 0, VALID 1; TfLiteTransposeConvParams' padding: SAME 1, VALID 2.
    put_table(f'op{k}', [('u32', new_code), ('ref', ('new', f'opins{k}')), old_ref(f, 2), ('u8', 49), ('ref', ('new', f'tcopts{k}'))])
    put_vec_i32(f'opins{k}', [ti, wgt, x, bias])
    put_table(f'tcopts{k}', [('i8', padding - 1), ('i32', sw), ('i32', shh)])
    put_table(f'tensor{k}', [('ref', ('new', f'tshape{k}')), ('i8', 2), ('u32', bi)])
    put_vec_i32(f'tshape{k}', [4])
    put_table(f'buf{k}', [('ref', ('new', f'shapebuf{k}'))])
    put_bytes(f'shapebuf{k}', b''.join(struct.pack('<i', d) for d in shape_of(tensors[y])))
w.b += b'\0' * ((-len(w.b)) % 16)
P = len(w.b)
for p, (kind, t) in w.fix:
    a = objs[t] if kind == 'new' else t + P
    assert a > p, (p, t)
    struct.pack_into('<I', w.b, p, a - p)
struct.pack_into('<I', w.b, 0, objs['model']); w.b[4:8] = b'TFL3'
open(sys.argv[2], 'wb').write(bytes(w.b) + old)
print('rewrote', len(rewritten), 'ops')
