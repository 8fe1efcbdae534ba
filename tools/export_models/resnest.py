"""ResNeSt ("resnest101e" layout) for the reference-model exporter.

Architecture (Zhang et al., "ResNeSt: Split-Attention Networks", 2020; timm's resnest101e):
  deep stem   3x3/2 conv 3->w, 3x3 conv w->w, 3x3 conv w->2w, BN, ReLU, 3x3/2 max-pool
  4 stages    split-attention bottlenecks, radix 2, cardinality 1, bottleneck width 64;
              the first block of stages 2-4 strides with "avd": a 3x3/2 average pool placed after the
              split-attention conv, so the 3x3 conv itself always runs at stride 1;
              projection shortcuts use "avg_down": 2x2/2 average pool (ceil mode, padding excluded)
              followed by a stride-1 1x1 conv + BN
  head        global average pool, Linear 2048*width/64 -> classes

Split-attention block (radix r, channels C):
  u = ReLU(BN(GroupedConv3x3(x)))        r*C channels, one group per radix branch
  s = sum_i u[i]                          the r branches viewed as [N, r, C, H, W]
  z = ReLU(BN(Conv1x1(GAP(s))))           attention MLP on the pooled vector (bias in the conv)
  a = softmax over r of Conv1x1(z)        [N, r*C] -> [N, r, C]
  y = sum_i a[i] * u[i]

ONNX ops this produces (opset 13): Conv, BatchNormalization (with --keep-bn), Relu, MaxPool,
AveragePool (ceil_mode, count_include_pad=0), GlobalAveragePool, Reshape with shapes computed by
Shape/Gather/Unsqueeze/Concat, ReduceSum (axes as input), Softmax, Mul, Add, Flatten, Gemm.
"""
import torch
from torch import nn


def conv_bn_relu(cin, cout, stride=1, relu=True):
    layers = [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return layers


class SplitAttention(nn.Module):
    """3x3 conv with radix branches re-weighted by a softmax attention over the branches."""

    def __init__(self, channels, radix=2, reduction=4, min_attn=32):
        super().__init__()
        self.radix = radix
        self.channels = channels
        attn = max(channels * radix // reduction, min_attn)
        self.conv = nn.Conv2d(channels, channels * radix, 3, 1, 1, groups=radix, bias=False)
        self.bn = nn.BatchNorm2d(channels * radix)
        self.fc1 = nn.Conv2d(channels, attn, 1)
        # This BN only ever sees 1x1 pooled vectors; the exporter keeps its running statistics at
        # identity (see export.calibrate_bn) because noise-calibrated ones make the network chaotic.
        self.bn_attn = nn.BatchNorm2d(attn)
        self.bn_attn.pooled_only = True
        self.fc2 = nn.Conv2d(attn, channels * radix, 1)

    def forward(self, x):
        u = torch.relu(self.bn(self.conv(x)))
        n, _, h, w = u.shape
        branches = u.reshape(n, self.radix, self.channels, h, w)
        pooled = nn.functional.adaptive_avg_pool2d(branches.sum(1), 1)
        z = torch.relu(self.bn_attn(self.fc1(pooled)))
        # fc2's output channels are laid out radix-major ([r, C]), so a softmax over dim 1 of the
        # [N, r, C] view weighs the branches channel by channel.
        a = torch.softmax(self.fc2(z).reshape(n, self.radix, self.channels), dim=1)
        return (branches * a.reshape(n, self.radix, self.channels, 1, 1)).sum(1)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride, radix):
        super().__init__()
        cout = planes * self.expansion
        self.reduce = nn.Sequential(nn.Conv2d(cin, planes, 1, bias=False), nn.BatchNorm2d(planes),
                                    nn.ReLU(inplace=True))
        self.attn = SplitAttention(planes, radix)
        # avd: stride by pooling after the split-attention conv (never a strided 3x3 conv)
        self.avd = nn.AvgPool2d(3, stride, 1) if stride > 1 else nn.Identity()
        self.expand = nn.Sequential(nn.Conv2d(planes, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.shortcut = nn.Identity()
        if stride > 1 or cin != cout:
            pool = nn.AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False) if stride > 1 else nn.Identity()
            self.shortcut = nn.Sequential(pool, nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.expand(self.avd(self.attn(self.reduce(x))))
        return torch.relu(y + self.shortcut(x))


class ResNeSt(nn.Module):
    def __init__(self, depths=(3, 4, 23, 3), num_classes=1000, width=64, radix=2):
        super().__init__()
        stem = width  # deep stem: width, width, 2*width channels
        self.stem = nn.Sequential(*conv_bn_relu(3, stem, 2), *conv_bn_relu(stem, stem),
                                  *conv_bn_relu(stem, 2 * stem), nn.MaxPool2d(3, 2, 1))
        cin = 2 * stem
        stages = []
        for i, depth in enumerate(depths):
            planes = width * 2 ** i
            blocks = []
            for j in range(depth):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(Bottleneck(cin, planes, stride, radix))
                cin = planes * Bottleneck.expansion
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(cin, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                # conv biases (attention MLP) keep PyTorch's default uniform init: not zero
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.stages(self.stem(x))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def resnest(depths=(3, 4, 23, 3), num_classes=1000, width=64):
    return ResNeSt(depths, num_classes, width)
