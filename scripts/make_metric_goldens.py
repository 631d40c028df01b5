"""Golden values for KID, the Inception Score and precision/recall/density/coverage from the
reference packages (torch-fidelity 0.3.0's KID and ISC estimators, prdc 0.2), on the Inception
features of run A in crates/adversarial/tests/fixtures/fid (IS on logits made from them).
Writes metrics_goldens.json next to them.

Run with an interpreter that has numpy, torch, scikit-learn, prdc==0.2 and
torch-fidelity==0.3.0 importable."""
import json
import pathlib

import numpy as np
from prdc import compute_prdc

import importlib.util
PACKAGE = pathlib.Path(importlib.util.find_spec("torch_fidelity").submodule_search_locations[0])


def load_module(file):
    # metric_kid.py / metric_isc.py alone: its package __init__ pulls in torchvision, which the estimator
    # does not need, so the two helper modules it imports are stubbed
    import importlib.util, sys, types
    path = PACKAGE / file
    for name in ("torch_fidelity", "torch_fidelity.helpers", "torch_fidelity.utils"):
        sys.modules[name] = types.ModuleType(name)
    helpers = sys.modules["torch_fidelity.helpers"]
    helpers.get_kwarg = helpers.vprint = None

    def vassert(ok, msg):
        assert ok, msg

    helpers.vassert = vassert
    sys.modules["torch_fidelity.utils"].create_feature_extractor = None
    sys.modules["torch_fidelity.utils"].extract_featuresdict_from_input_id_cached = None
    m = importlib.util.module_from_spec(importlib.util.spec_from_file_location(file[:-3], path))
    m.__spec__.loader.exec_module(m)
    return m


polynomial_mmd = load_module("metric_kid.py").polynomial_mmd
isc = load_module("metric_isc.py").isc_features_to_metric

here = pathlib.Path(__file__).resolve().parent.parent / "crates/adversarial/tests/fixtures/fid"
a = np.load(here / "features_A_train_0_400.npy").astype(np.float64)
b = np.load(here / "features_A_t10k_0_400.npy").astype(np.float64)
out = {
    "source": "torch-fidelity 0.3.0 polynomial_mmd (degree 3, gamma 1/d, coef0 1) and isc_features_to_metric (10 splits, shuffle=False); prdc 0.2 compute_prdc; float64 inputs",
    # one subset holding every row: independent of the subset sampler
    "kid_all_400": float(polynomial_mmd(a, b, 3, None, 1)),
    "kid_first_100": float(polynomial_mmd(a[:100], b[:100], 3, None, 1)),
}
# IS on logits made from the features (10 and 1,008 classes), rows in file order: our IS takes
# the rows as given, torch-fidelity shuffles them by default
import torch
for name, logits in (("is_10", 20.0 * a[:, :10]), ("is_1008", 10.0 * a[:, :1008])):
    r = isc(torch.from_numpy(logits), splits=10, shuffle=False)
    out[name] = {"mean": r["inception_score_mean"], "std": r["inception_score_std"]}
for k in (3, 5):
    out[f"prdc_k{k}"] = {key: float(v) for key, v in compute_prdc(a, b, nearest_k=k).items()}
(here / "metrics_goldens.json").write_text(json.dumps(out, indent=2) + "\n")
print(json.dumps(out, indent=2))
