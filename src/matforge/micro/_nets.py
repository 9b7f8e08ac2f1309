"""The two networks, in plain torch: a compact ResNet-style classifier and a compact U-Net.

Why not torchvision / segmentation-models-pytorch: on these machines torchvision only imports with torch
2.14.1, a 5.5 GB CUDA build, while matforge pins the 0.8 GB CPU build of torch 2.13.0; and no pretrained
ImageNet weights can be downloaded offline anyway. Micrograph classes (NEU defects, phases) are texture
problems that a ~1 M-parameter network learns from scratch in minutes on a CPU, so a small own network
costs nothing in accuracy and keeps `pip install matforge[micro]` light. `--pretrained` loads a local
state_dict of these same networks (e.g. trained on a larger in-house set) for transfer learning.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["MicroResNet", "MicroResNetEnsemble", "MicroUNet"]


def _conv_bn(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)
    )


class _ResidualBlock(nn.Module):
    """Basic residual block of He et al., "Deep residual learning for image recognition", CVPR 2016."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
        )
        self.skip = (
            nn.Identity()
            if stride == 1 and c_in == c_out
            else nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.skip(x))


class MicroResNet(nn.Module):
    """ResNet-style image classifier: 3x3 stem, one residual block per stage (stride 2), global pooling.

    Parameters
    ----------
    in_channels : 1 for grey micrographs, 3 for colour.
    n_classes : number of output classes.
    width : channels of the first stage; stages double it (width, 2w, 4w, 8w).
    """

    def __init__(self, in_channels: int, n_classes: int, width: int = 32) -> None:
        super().__init__()
        self.stem = nn.Sequential(_conv_bn(in_channels, width, stride=2), _conv_bn(width, width))
        stages, c = [], width
        for k in range(4):
            c_out = width * 2**k
            stages.append(_ResidualBlock(c, c_out, stride=1 if k == 0 else 2))
            c = c_out
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(c, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


class MicroResNetEnsemble(nn.Module):
    """K independently trained MicroResNets whose class probabilities are averaged.

    `forward` returns the log of the mean probability, so `softmax(forward(x))` is exactly the averaged
    probability and cross-entropy on it is the ensemble's log loss. Averaging networks that differ only
    in initialisation, augmentation draws and validation split cancels much of their variance
    (Lakshminarayanan et al., "Simple and scalable predictive uncertainty estimation using deep
    ensembles", NeurIPS 2017), which is what decides the last few borderline images.
    """

    def __init__(self, members: list[MicroResNet]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        probs = torch.stack([torch.softmax(m(x), dim=1) for m in self.members]).mean(0)
        return torch.log(probs.clamp_min(1e-12))


class MicroUNet(nn.Module):
    """U-Net (Ronneberger et al., MICCAI 2015, doi:10.1007/978-3-319-24574-4_28) with batch norm.

    `depth` poolings, so input height and width must be multiples of 2**depth (the tiler pads to that).
    """

    def __init__(self, in_channels: int, n_classes: int, width: int = 16, depth: int = 3) -> None:
        super().__init__()
        self.depth = depth
        self.down = nn.ModuleList()
        c, chans = in_channels, []
        for k in range(depth + 1):
            c_out = width * 2**k
            self.down.append(nn.Sequential(_conv_bn(c, c_out), _conv_bn(c_out, c_out)))
            chans.append(c_out)
            c = c_out
        self.up = nn.ModuleList()
        self.merge = nn.ModuleList()
        for k in reversed(range(depth)):
            self.up.append(nn.ConvTranspose2d(c, chans[k], 2, stride=2))
            self.merge.append(nn.Sequential(_conv_bn(2 * chans[k], chans[k]), _conv_bn(chans[k], chans[k])))
            c = chans[k]
        self.out = nn.Conv2d(c, n_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for k, block in enumerate(self.down):
            x = block(x)
            if k < self.depth:
                skips.append(x)
                x = nn.functional.max_pool2d(x, 2)
        for up, merge in zip(self.up, self.merge, strict=True):
            x = merge(torch.cat([up(x), skips.pop()], dim=1))
        return self.out(x)
