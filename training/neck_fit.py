"""A closed-form neck: centre, project on the top-D principal axes of the backbone's training features, and
scale each axis by eigenvalue^-power (0 = plain PCA, 0.5 = full whitening). It is still PaddleClas's neck,
one Linear(1280 -> D) with bias, so nothing changes downstream; only how its weights are found."""
import torch


def whitening_neck(feats: torch.Tensor, dim: int, power: float, eps: float = 1e-6):
    """W [dim, 1280] and b [dim] with y = W x + b."""
    x = feats.double()
    mu = x.mean(0)
    cov = (x - mu).T @ (x - mu) / (len(x) - 1)
    evals, evecs = torch.linalg.eigh(cov)
    order = torch.argsort(evals, descending=True)[:dim]
    lam, u = evals[order].clamp(min=eps), evecs[:, order]
    w = (u * lam.pow(-power)).T
    return w.float(), (-(w @ mu)).float()
