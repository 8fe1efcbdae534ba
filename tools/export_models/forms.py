"""Other forms of an exported float32 model, as the tools people use on PyTorch exports write them,
with PyTorch references for each (used by export.py's presets):

  float16        every FLOAT tensor (initializers, Constant values, graph inputs/outputs, value_info)
                 becomes FLOAT16 and Cast-to-FLOAT becomes Cast-to-FLOAT16: what onnxconverter-common's
                 convert_float_to_float16(keep_io_types=False) and ONNX Runtime's fp16 tools write.
                 (Debian's torch 1.13 cannot run, so cannot trace, a model.half() on the CPU.)
                 Reference: the float64 model on the float16-rounded weights and input.

  dynamic_int8   ONNX Runtime's quantize_dynamic() layout, written here since onnxruntime is not
                 packaged: every Conv becomes DynamicQuantizeLinear(x) -> ConvInteger(x_q, W_q, x_zp)
                 -> Cast(FLOAT) -> Mul(x_scale * W_scale) -> Add(bias [1,M,1,1]); every Gemm (transB=1)
                 becomes DynamicQuantizeLinear -> MatMulInteger(x_q, W_q^T, x_zp) -> Cast -> Mul ->
                 Add(bias). Weights: int8, symmetric per tensor (scale max|W|/127, zero point 0),
                 ORT's default for weight_type=QInt8. Reference: the PyTorch model with each Conv and
                 Linear replaced by the same arithmetic in float32 torch ops (DynQ below).
"""
import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn


def to_float16(m):
    g = m.graph
    for i, t in enumerate(g.initializer):
        if t.data_type == TensorProto.FLOAT:
            g.initializer[i].CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), t.name))
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        if vi.type.tensor_type.elem_type == TensorProto.FLOAT:
            vi.type.tensor_type.elem_type = TensorProto.FLOAT16
    for n in g.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.TENSOR and a.t.data_type == TensorProto.FLOAT:
                a.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(a.t).astype(np.float16), a.t.name))
            if n.op_type == "Cast" and a.name == "to" and a.i == TensorProto.FLOAT:
                a.i = TensorProto.FLOAT16
    onnx.checker.check_model(m)
    return m


def round_params_to_float16(model):
    """The model's weights rounded to float16 (what the float16 file holds), kept in float64."""
    with torch.no_grad():
        for p in list(model.parameters()) + list(model.buffers()):
            if p.is_floating_point():
                p.copy_(p.half().to(p.dtype))
    return model


def quantize_weight(w):
    """int8, symmetric per tensor: (q, scale) with w ~ q * scale."""
    scale = np.float32(np.abs(w).max() / 127.0)
    q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
    return q, scale


def to_dynamic_int8(m):
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    nodes = []
    counter = [0]

    def name(base):
        counter[0] += 1
        return f"{base}_dq{counter[0]}"

    def add_init(arr, base):
        t = numpy_helper.from_array(arr, name(base))
        g.initializer.append(t)
        return t.name

    def quantized_tail(node, int_out, x_scale, w_scale_name, bias_name):
        cast = name("cast")
        nodes.append(helper.make_node("Cast", [int_out], [cast], to=TensorProto.FLOAT))
        scales = name("scales_mul")
        nodes.append(helper.make_node("Mul", [x_scale, w_scale_name], [scales]))
        out = node.output[0]
        if bias_name is None:
            nodes.append(helper.make_node("Mul", [cast, scales], [out]))
            return
        scaled = name("scaled")
        nodes.append(helper.make_node("Mul", [cast, scales], [scaled]))
        nodes.append(helper.make_node("Add", [scaled, bias_name], [out]))

    for node in g.node:
        if node.op_type not in ("Conv", "Gemm"):
            nodes.append(node)
            continue
        x, wname = node.input[0], node.input[1]
        w = numpy_helper.to_array(inits[wname])
        bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
        xq, xs, xz = name("x_q"), name("x_scale"), name("x_zp")
        nodes.append(helper.make_node("DynamicQuantizeLinear", [x], [xq, xs, xz]))
        if node.op_type == "Gemm":
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            if attrs.get("transB", 0) != 1 or attrs.get("transA", 0) != 0 or attrs.get("alpha", 1.0) != 1.0:
                raise SystemExit(f"Gemm {node.name}: only transB=1, transA=0, alpha=1")
            wq, wscale = quantize_weight(w.T)  # MatMulInteger's B is [K, N]
        else:
            wq, wscale = quantize_weight(w)
        wq_name = add_init(wq, wname + "_quantized")
        ws_name = add_init(np.array(wscale, dtype=np.float32), wname + "_scale")
        wz_name = add_init(np.array(0, dtype=np.int8), wname + "_zero_point")
        int_out = name("int32")
        bias_name = None
        if node.op_type == "Conv":
            nodes.append(helper.make_node("ConvInteger", [xq, wq_name, xz, wz_name], [int_out], name=node.name + "_quant",
                                          **{a.name: helper.get_attribute_value(a) for a in node.attribute}))
            if bias:
                b = numpy_helper.to_array(inits[bias])
                bias_name = add_init(b.reshape(1, -1, 1, 1), bias + "_reshaped")
        else:
            nodes.append(helper.make_node("MatMulInteger", [xq, wq_name, xz, wz_name], [int_out], name=node.name + "_quant"))
            bias_name = bias
        quantized_tail(node, int_out, xs, ws_name, bias_name)
    del g.node[:]
    g.node.extend(nodes)
    used = {i for n in g.node for i in n.input}
    keep = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)
    m.opset_import[0].version = max(m.opset_import[0].version, 11)  # DynamicQuantizeLinear
    onnx.checker.check_model(m)
    return m


def dynamic_quantize_linear(x):
    """ONNX DynamicQuantizeLinear in float32 torch ops: (q as float32, scale, zero point)."""
    lo = torch.clamp(x.min(), max=0)
    hi = torch.clamp(x.max(), min=0)
    scale = (hi - lo) / torch.tensor(255, dtype=torch.float32)
    if scale == 0:
        return torch.zeros_like(x), scale, torch.tensor(0.0)
    zp = torch.clamp(torch.round(-lo / scale), 0, 255)  # torch.round rounds half to even
    q = torch.clamp(torch.round(x / scale) + zp, 0, 255)
    return q, scale, zp


class DynQ(nn.Module):
    """A Conv2d or Linear computed as to_dynamic_int8's graph does: integer products summed exactly
    (float64 holds them), then Cast, Mul(x_scale*w_scale) and Add(bias) in float32."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer
        w = layer.weight.detach().numpy()
        wq, wscale = quantize_weight(w)
        self.wq = torch.from_numpy(wq.astype(np.float64))
        self.wscale = torch.tensor(wscale)

    def forward(self, x):
        q, xs, xz = dynamic_quantize_linear(x)
        xi = (q - xz).double()
        if isinstance(self.layer, nn.Conv2d):
            # Padding holds the zero point, which (q - zp) makes 0: zero padding of xi.
            l = self.layer
            acc = nn.functional.conv2d(xi, self.wq, None, l.stride, l.padding, l.dilation, l.groups)
        else:
            acc = xi @ self.wq.T
        y = acc.float() * (xs * self.wscale)
        if self.layer.bias is not None:
            b = self.layer.bias.detach()
            y = y + (b.reshape(1, -1, 1, 1) if y.dim() == 4 else b)
        return y


def dynamic_int8_reference(model):
    """model with every Conv2d and Linear replaced by DynQ (in place)."""
    for parent in list(model.modules()):
        for cname, child in list(parent.named_children()):
            if isinstance(child, (nn.Conv2d, nn.Linear)):
                setattr(parent, cname, DynQ(child))
    return model


def fuse_bn(model):
    """Folds every BatchNorm2d that directly follows a Conv2d in a Sequential into the conv (in place),
    so the module's conv weights are the ones the ONNX file holds."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval
    for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        keys = list(seq._modules)
        for a, b in zip(keys, keys[1:]):
            conv, bn = seq._modules[a], seq._modules[b]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                seq._modules[a] = fuse_conv_bn_eval(conv.eval(), bn.eval())
                seq._modules[b] = nn.Identity()
    if any(isinstance(m, nn.BatchNorm2d) for m in model.modules()):
        raise SystemExit("fuse_bn: a BatchNorm2d does not follow a Conv2d in a Sequential")
    return model
