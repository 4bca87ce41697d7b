"""torchvision's VGGs as the tool builds their twins, with small non-zero weights (no exporter
merges or drops a bias that is not zero) and BatchNorm statistics of a trained-looking net: what a
user exports to ONNX."""


def torchvision_twin(torch, name):
    from torch import nn

    from vgg_inspect.network import model_spec
    from vgg_inspect.runtime.instantiate import instantiate

    net = instantiate(model_spec(name), device="cpu", dtype="float32", init=False).eval()
    with torch.no_grad():
        for p in net.parameters():
            nn.init.uniform_(p, -0.01, 0.01)
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.zero_()
                m.running_var.fill_(1.0)
    return net
