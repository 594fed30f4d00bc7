"""Correct but differently written losses must get full marks (never fail a right answer).

Each variant replaces the forward body of one loss cell in the source notebook. Variants of
different components are graded together, one per component per notebook.
"""

from dataclasses import dataclass
from typing import TypeVar

import pytest

from autograder.judge import grade_notebook
from facekit.base import contract

Entry = TypeVar("Entry")  # a corpus entry: anything with a `component`


@dataclass(frozen=True)
class Variant:
    component: str
    description: str
    forward_body: str  # replaces the cell's last solution region (indented for forward)


VARIANTS = [
    Variant(
        contract.ARCFACE,
        "acos of the clamped cosine, margin added to the angle",
        """
        weight = self.weight.to(embeddings.dtype)
        cos = F.normalize(embeddings, dim=1) @ F.normalize(weight, dim=1).T
        theta = torch.acos(cos.clamp(-1 + 1e-7, 1 - 1e-7))
        target = torch.where(
            theta + self.m < math.pi, torch.cos(theta + self.m), cos - self.m * math.sin(self.m)
        )
        rows = torch.arange(len(labels))
        logits = cos.clone()
        logits[rows, labels] = target[rows, labels]
        return self.s * logits
""",
    ),
    Variant(
        contract.ARCFACE,
        "angle addition with a one-hot blend and hand-written normalisation",
        """
        x = embeddings / embeddings.norm(dim=1, keepdim=True).clamp_min(1e-12)
        w = self.weight.to(embeddings.dtype)
        w = w / w.norm(dim=1, keepdim=True).clamp_min(1e-12)
        cos = torch.clamp(x @ w.t(), -1.0, 1.0)
        sin = torch.sqrt(torch.clamp(1.0 - cos**2, min=1e-12))
        phi = cos * math.cos(self.m) - sin * math.sin(self.m)
        fallback = cos - math.sin(self.m) * self.m
        phi = torch.where(cos - math.cos(math.pi - self.m) > 0, phi, fallback)
        one_hot = torch.zeros_like(cos)
        one_hot.scatter_(1, labels.view(-1, 1), 1.0)
        return self.s * (one_hot * phi + (1.0 - one_hot) * cos)
""",
    ),
    Variant(
        contract.COSFACE,
        "in-place margin on a clone, indexed by label",
        """
        weight = F.normalize(self.weight, dim=1).to(embeddings.dtype)
        cos = F.normalize(embeddings, dim=1) @ weight.T
        logits = cos.clone()
        logits[torch.arange(len(labels)), labels] -= self.m
        return logits * self.s
""",
    ),
    Variant(
        contract.COSFACE,
        "torch.where on a boolean mask, hand-written normalisation",
        """
        x = embeddings / torch.linalg.vector_norm(embeddings, dim=1, keepdim=True).clamp_min(1e-12)
        w = self.weight.to(x.dtype)
        w = w / torch.linalg.vector_norm(w, dim=1, keepdim=True).clamp_min(1e-12)
        cos = torch.mm(x, w.t())
        is_target = torch.arange(cos.shape[1])[None, :] == labels[:, None]
        return self.s * torch.where(is_target, cos - self.m, cos)
""",
    ),
    Variant(
        contract.SPHEREFACE,
        "acos-based psi with (-1)^k from a power",
        """
        weight = F.normalize(self.weight.to(embeddings.dtype), dim=1)
        cos = (F.normalize(embeddings, dim=1) @ weight.T).clamp(-1 + 1e-7, 1 - 1e-7)
        theta = torch.acos(cos)
        k = torch.floor(self.m * theta / math.pi).detach()
        psi = torch.pow(-1.0, k) * torch.cos(self.m * theta) - 2 * k
        rows = torch.arange(len(labels))
        logits = cos.clone()
        logits[rows, labels] = psi[rows, labels]
        return embeddings.norm(dim=1, keepdim=True) * logits
""",
    ),
    Variant(
        contract.SPHEREFACE,
        "k counted from thresholds, cos(m theta) as cos(m * acos)",
        """
        weight = F.normalize(self.weight.to(embeddings.dtype), dim=1)
        cos = F.linear(F.normalize(embeddings, dim=1), weight).clamp(-1, 1)
        thresholds = [math.cos(j * math.pi / self.m) for j in range(1, self.m)]
        k = torch.zeros_like(cos)
        for t in thresholds:
            k = k + (cos <= t).to(cos.dtype)
        cos_m_theta = torch.cos(self.m * torch.acos(cos.clamp(-1 + 1e-7, 1 - 1e-7)))
        sign = 1 - 2 * torch.remainder(k, 2)
        psi = sign * cos_m_theta - 2 * k
        mask = F.one_hot(labels, cos.shape[1]).to(cos.dtype)
        norm = torch.sqrt((embeddings**2).sum(dim=1, keepdim=True))
        return norm * (mask * psi + (1 - mask) * cos)
""",
    ),
    Variant(
        contract.TRIPLET_LOSS,
        "F.pairwise_distance squared, clamp instead of relu",
        """
        d_ap = F.pairwise_distance(anchor, positive, eps=0.0).pow(2)
        d_an = F.pairwise_distance(anchor, negative, eps=0.0).pow(2)
        return torch.clamp(d_ap - d_an + self.margin, min=0.0).mean()
""",
    ),
    Variant(
        contract.TRIPLET_LOSS,
        "einsum distances and an explicit average",
        """
        ap, an = anchor - positive, anchor - negative
        d_ap = torch.einsum("nd,nd->n", ap, ap)
        d_an = torch.einsum("nd,nd->n", an, an)
        losses = torch.maximum(d_ap - d_an + self.margin, torch.zeros_like(d_ap))
        return losses.sum() / anchor.shape[0]
""",
    ),
    Variant(
        contract.BATCH_HARD_TRIPLET_LOSS,
        "a plain loop over anchors",
        """
        losses = []
        for i in range(len(labels)):
            distances = ((embeddings - embeddings[i]) ** 2).sum(dim=1)
            positive = labels == labels[i]
            positive[i] = False
            negative = labels != labels[i]
            if positive.any() and negative.any():
                hardest = distances[positive].max() - distances[negative].min()
                losses.append(torch.relu(hardest + self.margin))
        if not losses:
            return (embeddings * 0).sum()  # a zero that backward() still accepts
        return torch.stack(losses).mean()
""",
    ),
    Variant(
        contract.BATCH_HARD_TRIPLET_LOSS,
        "Gram-matrix distances with large-constant masking",
        """
        squared = (embeddings**2).sum(dim=1)
        gram = embeddings @ embeddings.T
        distances = (squared[:, None] + squared[None, :] - 2 * gram).clamp_min(0)
        same = labels[:, None].eq(labels[None, :])
        eye = torch.eye(len(labels), dtype=torch.bool)
        positive, negative = same & ~eye, ~same
        big = distances.detach().max() + 1.0
        hardest_positive = (distances - big * (~positive).to(distances.dtype)).max(dim=1).values
        hardest_negative = (distances + big * (~negative).to(distances.dtype)).min(dim=1).values
        valid = (positive.sum(1) > 0) & (negative.sum(1) > 0)
        losses = F.relu(hardest_positive - hardest_negative + self.margin)
        losses = losses * valid.to(distances.dtype)
        return losses.sum() / valid.sum().clamp_min(1)
""",
    ),
    Variant(
        contract.CENTER_LOSS,
        "index_select and a division by two",
        """
        centers = self.centers.to(features.dtype).index_select(0, labels)
        return ((features - centers) ** 2).sum(-1).mean() / 2
""",
    ),
    Variant(
        contract.CENTER_LOSS,
        "a loop over samples",
        """
        total = features.new_zeros(())
        for feature, label in zip(features, labels):
            total = total + torch.sum((feature - self.centers[label].to(features.dtype)) ** 2)
        return 0.5 * total / len(features)
""",
    ),
]


def rounds(entries: list[Entry]) -> list[list[Entry]]:
    """Group corpus entries (variants here, the self-check tests' edits) so that each group
    holds at most one entry per component."""
    groups: list[list[Entry]] = []
    for entry in entries:
        group = next((g for g in groups if all(e.component != entry.component for e in g)), None)
        if group is None:
            groups.append([entry])
        else:
            group.append(entry)
    return groups


ROUNDS = rounds(VARIANTS)
LOSSES = contract.LOSSES


def test_two_variants_per_loss():
    """Does every loss have at least two correct variants?"""
    for loss in LOSSES:
        assert sum(variant.component == loss for variant in VARIANTS) >= 2, loss


@pytest.mark.slow
@pytest.mark.parametrize("round_index", range(len(ROUNDS)))
def test_correct_variants_get_full_marks(
    round_index, edited_copy, replace_forward_body, write_notebook, max_points
):
    """Do differently written but correct losses score full marks on every component?"""
    notebook = edited_copy()
    for variant in ROUNDS[round_index]:
        replace_forward_body(notebook, variant.component, variant.forward_body)
    report = grade_notebook(write_notebook(notebook))
    lost = {
        component.id: component.feedback()
        for component in report.components
        if component.points != max_points[component.id]
    }
    assert not lost, "\n\n".join(f"{cid}:\n{text}" for cid, text in lost.items())
