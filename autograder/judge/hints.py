"""Every hint the judge can give, under a stable id (recorded in results.json).

An id names a recognised bug (`<component>.<bug>`: the student's output matched that buggy
formula on the case's inputs) or a kind of finding (`finding.<...>`, `error.<...>`,
`component.<...>`, `policy.<...>`). The judge picks ids from structured findings; the words live
only here, so rewording a hint never changes which one appears.
"""

HINTS: dict[str, str] = {
    # ---------------------------------------------------------------- recognised bugs: blocks
    "basic_block.relu_before_add": (
        "your output matches ReLU applied BEFORE the residual add: add first, then ReLU"
    ),
    "basic_block.no_final_relu": (
        "your output matches the block without its final ReLU (after the add)"
    ),
    "basic_block.no_shortcut": (
        "your output matches the block without the shortcut: add the input (or downsample(x))"
    ),
    "bottleneck.relu_before_add": (
        "your output matches ReLU applied BEFORE the residual add: add first, then ReLU"
    ),
    "bottleneck.no_final_relu": (
        "your output matches the block without its final ReLU (after the add)"
    ),
    "bottleneck.no_shortcut": (
        "your output matches the block without the shortcut: add the input (or downsample(x))"
    ),
    "bottleneck.no_relu_after_bn2": "your output matches the block without the ReLU after bn2",
    "convnext_block.no_layer_scale": (
        "your output matches the block without the layer scale gamma"
    ),
    "convnext_block.no_residual": (
        "your output matches the branch without the residual: add the input back"
    ),
    "convnext_block.norm_over_chw": (
        "your output matches a normalisation over (C, H, W) per sample (GroupNorm(1, C) or "
        "LayerNorm over the last three dimensions): ConvNeXt's LayerNorm normalises over the "
        "channels only, at every position (channels-last)"
    ),
    "convnext_block.drop_path_in_eval": (
        "in eval mode some samples lost their residual branch: stochastic depth must be off "
        "outside training (check self.training)"
    ),
    "inverted_residual.relu_not_relu6": (
        "your output matches ReLU where ReLU6 belongs (clip at 6)"
    ),
    "inverted_residual.activation_after_project": (
        "your output matches an activation after the projection: the projection is linear"
    ),
    # ---------------------------------------------------------------- recognised bugs: heads
    "arcface.cosine_margin": (
        "your logits match a cosine margin s·(cos θ − m) (CosFace): ArcFace adds m to the "
        "ANGLE, s·cos(θ + m)"
    ),
    "arcface.margin_on_every_class": (
        "your logits match the margin applied to EVERY class: only the true class gets it"
    ),
    "arcface.margin_in_degrees": "your logits match m interpreted in degrees: m is in radians",
    "arcface.no_fallback": (
        "your logits match cos(θ + m) everywhere: where θ + m > π (cos θ ≤ cos(π − m)) the "
        "target logit must fall back to s·(cos θ − m·sin m)"
    ),
    "arcface.weights_not_normalised": (
        "your logits match un-normalised class weights: normalise the rows of weight too"
    ),
    "arcface.embeddings_not_normalised": (
        "your logits match un-normalised embeddings: normalise the embeddings too"
    ),
    "cosface.margin_on_every_class": (
        "your logits match the margin subtracted from EVERY class: only the true class"
    ),
    "cosface.margin_outside_scale": (
        "your logits match s·cos θ − m: the margin is inside the scale, s·(cos θ − m)"
    ),
    "cosface.weights_not_normalised": (
        "your logits match un-normalised class weights: normalise the rows of weight"
    ),
    "cosface.embeddings_not_normalised": (
        "your logits match un-normalised embeddings: normalise the embeddings"
    ),
    "sphereface.no_norm_factor": (
        "your logits lack the ‖x‖ factor: SphereFace normalises the weights, not the embeddings"
    ),
    "sphereface.no_sign": "your logits match ψ(θ) without the sign (−1)^k",
    "sphereface.no_shift": (
        "your logits match ψ(θ) without the −2k shift: ψ must decrease monotonically"
    ),
    # ---------------------------------------------------------------- recognised bugs: losses
    "triplet_loss.unsquared": (
        "your loss matches unsquared Euclidean distances: the contract uses squared ones"
    ),
    "triplet_loss.sum": "your loss matches the SUM over the batch: take the mean",
    "triplet_loss.margin_outside_relu": (
        "your loss matches relu(d_ap − d_an) + margin: the margin goes inside the relu"
    ),
    "batch_hard_triplet_loss.unsquared": (
        "your loss matches unsquared Euclidean distances: the contract uses squared ones"
    ),
    "batch_hard_triplet_loss.self_positive": (
        "your loss matches positives that include the anchor itself: an anchor is not its own "
        "positive (anchors without another same-label sample are left out)"
    ),
    "batch_hard_triplet_loss.mean_over_all_anchors": (
        "your loss matches the mean over ALL anchors: average only over anchors that have both "
        "a positive and a negative"
    ),
    "center_loss.no_half": "your loss matches the loss without the factor 0.5",
    "center_loss.sum": "your loss matches the SUM over the batch: average over samples",
    "center_loss.mean_over_elements": (
        "your loss matches the mean over every element: sum over features, mean over samples"
    ),
    # ---------------------------------------------------------------- kinds of findings
    "finding.precision": (
        "the values are close but not within tolerance: a different order of operations, or "
        "float32 arithmetic in a float64 case? (.float(), constants created as float32 "
        "tensors, or a rounding step such as a low-precision eps)"
    ),
    "finding.block_output_shape": (
        "the output shape differs: check each convolution's stride and padding and which layer "
        "changes the number of channels"
    ),
    "finding.float32_result": (
        "float64 inputs give float32 results: avoid .float() and tensors created without "
        "dtype=x.dtype (e.g. torch.tensor(...), torch.zeros(...))"
    ),
    "finding.nonfinite_gradient": (
        "non-finite gradients: clamp cos θ into [-1, 1] and keep sqrt/acos away from their "
        "infinite slope (clamp 1 − cos² above a small epsilon, or avoid acos)"
    ),
    "finding.missing_gradient": (
        "a parameter or input received no gradient: is it used in forward, or is its path "
        "detached (.detach(), .data, torch.no_grad)?"
    ),
    "finding.gradient_differs": (
        "the output is right but a gradient differs: look for .detach(), .data, in-place "
        "changes of tensors autograd needs, or non-differentiable shortcuts"
    ),
    "finding.batchnorm_statistics": (
        "output right but BatchNorm running statistics differ: is a BatchNorm layer applied "
        "twice, or to the wrong tensor?"
    ),
    "finding.drop_path_unscaled": (
        "kept samples must be scaled by 1/(1 − drop_path), so that the expected output is unchanged"
    ),
    "finding.drop_path_keep_rate": (
        "the fraction of samples that keep their branch must be 1 − drop_path: the coin "
        "decides to KEEP with probability 1 − p (torch.bernoulli of the keep probability)"
    ),
    "finding.drop_path_not_per_sample": (
        "draw one coin per sample (a mask of shape (N, 1, 1, 1)), not one for the whole batch "
        "or one per element"
    ),
    # ---------------------------------------------------------------- errors the code raised
    "error.residual_shape": (
        "the residual and the branch have different shapes: when the stride or the channel "
        "count changes, the shortcut needs its downsample (or, for InvertedResidual, no "
        "residual at all)"
    ),
    "error.signature": "the constructor and forward must accept exactly the contract's arguments",
    "error.mixed_dtypes": (
        "mixed dtypes: tensors you create in forward should follow the input's dtype "
        "(dtype=x.dtype), since cases also run in float64"
    ),
    # ---------------------------------------------------------------- across a component's cases
    "component.eval_fails": (
        "train-mode cases pass but eval-mode cases fail: in eval, BatchNorm uses its running "
        "statistics and stochastic depth is off (respect self.training)"
    ),
    "component.float64_fails": (
        "float32 cases pass but float64 cases fail: a hard-coded dtype (.float(), "
        "torch.tensor(...) without dtype) somewhere"
    ),
    # ---------------------------------------------------------------- the imports policy
    "policy.forbidden": (
        "graded components must be written by you from torch, torch.nn and torch.nn.functional: "
        "torchvision.models, torchvision.ops, timm and other model libraries, and torch's "
        "ready-made triplet losses, are not allowed in them"
    ),
}


def hint_text(hint_id: str) -> str:
    """The words of a hint; KeyError for an id the judge does not know (a judge bug)."""
    return HINTS[hint_id]
