"""The findings' parts that are not statistics: published claims, sentences, next actions, latex."""

import math

import pandas as pd
import pytest

from pix2pix_ablation.findings import latex
from pix2pix_ablation.findings.actions import seeds_action
from pix2pix_ablation.findings.published import agreement, claims_for, load_claims
from pix2pix_ablation.findings.sentences import comparison_sentence


def _rows(arm, verdicts, n_seeds=3, needed=math.nan):
    return pd.DataFrame([{"arm": arm, "metric": m, "verdict": v, "n_seeds": n_seeds, "seeds_needed": needed}
                         for m, v in verdicts.items()])


def test_shipped_claims_carry_the_published_facts():
    claims = load_claims()
    # the paper's Table 1 numbers for cGAN alone and its reference L1+cGAN (Cityscapes)
    [paper] = [c for c in claims_for("loss", "cgan", "l1+cgan", claims) if c.source == "isola2017"]
    assert paper.dataset == "cityscapes" and paper.expect == "worse" and paper.judged_on == ("semantic",)
    assert paper.arm_numbers == {"fcn_per_pixel_acc": 0.57, "fcn_per_class_acc": 0.22, "fcn_mean_iou": 0.16}
    assert paper.reference_numbers == {"fcn_per_pixel_acc": 0.66, "fcn_per_class_acc": 0.23, "fcn_mean_iou": 0.17}
    assert paper.cite == "Isola et al. 2017 (CVPR), Table 1"
    # report 000: instance norm better than batch norm at batch 4; no conclusion on attention
    [norm] = claims_for("norm", "instance", "batch", claims)
    assert norm.expect == "better" and norm.source == "report000"
    assert {c.expect for c in claims_for("attention", "down", "none", claims)} == {"none"}
    # no claim about the reverse pair, nor about another axis
    assert claims_for("norm", "batch", "instance", claims) == [] and claims_for("lr", "1", "2", claims) == []


def test_epoch_claims_are_ordinal():
    claims = load_claims()
    assert [c.source for c in claims_for("epochs", "2", "3", claims)] == ["report000"]
    assert claims_for("epochs", "3", "2", claims) == []  # more epochs than the reference: no claim
    assert claims_for("epochs", "3", "3", claims) == []


def test_agreement_reads_our_verdict_against_the_claim():
    assert agreement("worse", "worse") == "agrees"
    assert agreement("worse", "worse (one seed: seed variation not measured)") == "agrees"
    assert agreement("better", "worse (one seed: seed variation not measured)") == "contradicts"
    assert agreement("worse", "better") == "contradicts"
    assert agreement("better", "no detectable difference with 3 seeds") == "inconclusive"
    assert agreement("none", "worse") == "no claim"
    assert agreement("worse", "not tested: LPIPS left out") == "not tested"


def test_a_bad_claims_file_is_one_clear_error():
    header = "source\ttable\tdataset\taxis\tarm\treference\texpect\tjudged_on\tclaim\n"
    text = header + "x\t1\td\tloss\ta\tb\tmaybe\tpixel\tc\n"
    with pytest.raises(ValueError, match="expect 'maybe' is not better, worse or none"):
        load_claims(text)


def test_sentence_names_every_family_verdict():
    rows = pd.concat([
        _rows("loss_cgan", {"ssim": "worse", "psnr": "worse", "l1": "worse", "fid": "worse"}, n_seeds=1),
        _rows("loss_l1", {"ssim": "no detectable difference with 1 seed", "psnr": "better", "fid": "worse",
                          "lpips": "not tested: no weights"}, n_seeds=1),
    ])
    sentence = comparison_sentence("loss", "baseline", rows, {"loss_cgan": "cgan", "loss_l1": "l1",
                                                              "baseline": "l1+cgan"})
    assert sentence == ("loss (reference baseline, loss = l1+cgan): loss_cgan (cgan) worse on all 4 metrics "
                        "(1 seed); loss_l1 (l1) better on PSNR, worse on FID, no detectable difference on SSIM "
                        "(1 seed).")


def test_seeds_action_counts_trainings_and_hours():
    rows = pd.concat([_rows("a", {"ssim": "no detectable difference with 3 seeds", "fid": "worse"}, needed=6),
                      _rows("b", {"ssim": "no detectable difference with 3 seeds"}, needed=5)])
    action = seeds_action(rows, "ref", {"ref": 3, "a": 3, "b": 2}, {"ref": 1.0, "a": 2.0, "b": 0.5}, "gpu X")
    # ref +3 (3 h), a +3 (6 h), b +4 (2 h)
    assert action == ("raise `seeds` of rows ref, a, b to 6: 10 more trainings, about 11 hours of training at this "
                      "run's measured cost (gpu X). It settles SSIM of a; and SSIM of b.")
    assert seeds_action(_rows("a", {"ssim": "worse"}, needed=6), "ref", {"ref": 3, "a": 3}, {}) is None
    # out of reach: named, and it does not inflate the count for what is in reach
    rows = pd.concat([_rows("a", {"ssim": "no detectable difference with 3 seeds"}, needed=500),
                      _rows("a", {"fid": "no detectable difference with 3 seeds"}, needed=4)])
    assert seeds_action(rows, "ref", {"ref": 3, "a": 3}, {}) == (
        "raise `seeds` of rows ref, a to 4: 2 more trainings. It settles FID of a. "
        "Out of reach (more than 50 seeds per row): SSIM of a.")


def test_seeds_action_names_table_rows_not_saved_epochs():
    """The saved-epochs arms are snapshots of one row: more seeds of that row, counted once."""
    rows = _rows("epoch 1", {"ssim": "no detectable difference with 2 seeds"}, needed=5)
    action = seeds_action(rows, "epoch 3", {"baseline": 2}, {"baseline": 0.5}, row_of={"epoch 1": "baseline",
                                                                                          "epoch 3": "baseline"})
    assert action == ("raise `seeds` of row baseline to 5: 3 more trainings, about 1.5 hours of training at this "
                      "run's measured cost. It settles SSIM of epoch 1.")


def test_latex_table_marks_best_and_significance():
    stats = pd.DataFrame([
        {"arm": "ref", "metric": "ssim", "mean": 0.50, "ci_low": 0.48, "ci_high": 0.52},
        {"arm": "x", "metric": "ssim", "mean": 0.40, "ci_low": 0.36, "ci_high": 0.44},
        {"arm": "ref", "metric": "fid", "mean": 80.0, "ci_low": 70.0, "ci_high": 90.0},
        {"arm": "x", "metric": "fid", "mean": 60.0, "ci_low": math.nan, "ci_high": math.nan},
    ])
    findings = pd.DataFrame([{"arm": "x", "metric": "ssim", "verdict": "worse"},
                             {"arm": "x", "metric": "fid", "verdict": "no detectable difference with 1 seed"}])
    wide = latex.arm_table(stats, findings, ["ref", "x"])
    tex = latex.table(wide, "loss_l1 & co", "tab:x")
    assert r"\toprule" in tex and r"\bottomrule" in tex and r"loss\_l1 \& co" in tex
    ref_line, x_line = [line for line in tex.splitlines() if line.startswith(("ref &", "x &"))]
    assert ref_line == r"ref & \textbf{0.500 $\pm$ 0.020} & 80.00 $\pm$ 10.00 \\"
    assert x_line == r"x & 0.400 $\pm$ 0.040$^{\blacktriangledown}$ & \textbf{60.00} \\"
    assert list(wide["ssim_vs_reference"]) == ["", "worse"]
