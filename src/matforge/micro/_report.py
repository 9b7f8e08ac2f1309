"""Self-contained HTML reports of the image models: plots are inline base64 PNGs, nothing is fetched."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["figure_png", "image_png", "overlay", "classifier_report", "segmenter_report", "write_html"]

MAX_EXAMPLES = 12
# Colours of classes 1, 2, ... in overlays (class 0, the background, stays uncoloured).
PALETTE = np.array([[230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48], [145, 30, 180], [70, 240, 240]])


def overlay(image: np.ndarray, mask: np.ndarray, *, alpha: float = 0.45, palette: np.ndarray = PALETTE) -> np.ndarray:
    """uint8 RGB picture of `image` with classes 1, 2, ... of `mask` tinted (class 0 left as is)."""
    gray = image if image.ndim == 2 else image.mean(-1)
    rgb = np.repeat(np.clip(gray, 0, 1)[..., None] * 255.0, 3, axis=-1)
    for k in range(1, int(mask.max()) + 1):
        sel = mask == k
        rgb[sel] = (1 - alpha) * rgb[sel] + alpha * palette[(k - 1) % len(palette)]
    return rgb.astype(np.uint8)


def figure_png(fig) -> str:
    """A matplotlib figure as a base64 PNG string (the figure is closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def image_png(array: np.ndarray) -> bytes:
    """PNG bytes of a float [0, 1] grey/RGB array or a uint8 array."""
    from PIL import Image

    if array.dtype != np.uint8:
        array = (np.clip(array, 0, 1) * 255 + 0.5).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def _img(b64: str, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'


def _table(rows: Sequence[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def write_html(path: str | Path, title: str, sections: Sequence[tuple[str, str]]) -> None:
    """Write `sections` (heading, inner HTML) as one standalone page."""
    parts = "".join(f"<h2>{html.escape(h)}</h2>\n{body}\n" for h, body in sections)
    Path(path).write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}"
        "img{max-width:100%}figure{display:inline-block;margin:4px;font-size:80%;text-align:center}"
        f"</style></head><body><h1>{html.escape(title)}</h1>\n{parts}</body></html>\n"
    )


def _history_plot(history: list[dict], score_name: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3))
    # An ensemble's history holds one curve per member; the segmenter's has no member column.
    members = sorted({h.get("member", 0) for h in history})
    for k in members:
        rows = [h for h in history if h.get("member", 0) == k]
        epochs = [h["epoch"] for h in rows]
        suffix = f" {k + 1}" if len(members) > 1 else ""
        ax1.plot(epochs, [h["train_loss"] for h in rows], color="C0", alpha=1 / len(members) ** 0.5,
                 label="training" if k == members[0] else None)
        ax1.plot(epochs, [h["val_loss"] for h in rows], color="C1", alpha=1 / len(members) ** 0.5,
                 label="validation" if k == members[0] else None)
        ax2.plot(epochs, [h["val_score"] for h in rows], color=f"C{2 + k}", label=f"network{suffix}")
    if len(members) > 1:
        ax2.legend()
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("loss")
    ax1.legend()
    ax2.set_xlabel("epoch")
    ax2.set_ylabel(f"validation {score_name}")
    fig.tight_layout()
    return figure_png(fig)


def _confusion_plot(matrix: np.ndarray, classes: Sequence[str]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = len(classes)
    fig, ax = plt.subplots(figsize=(1.2 + 0.7 * k, 1.0 + 0.6 * k))
    ax.imshow(matrix, cmap="Blues")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center",
                    color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    ax.set_xticks(range(k), classes, rotation=45, ha="right")
    ax.set_yticks(range(k), classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    return figure_png(fig)


def classifier_report(path, clf, images, y_true, proba, names) -> None:
    """report.html of a classifier run: test metrics, confusion matrix, misclassified test images, curves."""
    scores = clf.metrics_["test"]
    protocol = clf.metrics_["protocol"]
    summary = _table(
        [("test images", f"{protocol['n_test']} (stratified, seed {protocol['seed']})"),
         ("training images", str(protocol["n_train"])),
         ("accuracy", f"{scores['accuracy']:.4f}"), ("balanced accuracy", f"{scores['balanced_accuracy']:.4f}"),
         ("macro F1", f"{scores['f1_macro']:.4f}"), ("ROC AUC (one-vs-rest)", f"{scores['roc_auc']:.4f}"),
         ("networks averaged", str(clf.metrics_["ensemble"])),
         ("epochs trained", " + ".join(map(str, clf.metrics_["epochs_per_member"]))), ("training time", f"{clf.metrics_['fit_seconds']} s"),
         ("device", clf.metrics_["device"])]
    )
    y_pred = proba.argmax(1)
    wrong = np.flatnonzero(y_pred != y_true)
    wrong = wrong[np.argsort(-proba[wrong, y_pred[wrong]])][:MAX_EXAMPLES]
    if len(wrong):
        figures = "".join(
            f"<figure>{_img(base64.b64encode(image_png(images[i])).decode(), str(names.iloc[i]))}<figcaption>"
            f"{html.escape(Path(str(names.iloc[i])).name)}<br>true {html.escape(clf.classes_[y_true[i]])}, "
            f"predicted {html.escape(clf.classes_[y_pred[i]])} ({proba[i, y_pred[i]]:.2f})</figcaption></figure>"
            for i in wrong
        )
        note = f"<p>{len(np.flatnonzero(y_pred != y_true))} misclassified; the most confident mistakes first.</p>"
    else:
        figures, note = "", "<p>No test image is misclassified.</p>"
    write_html(
        path,
        "matforge micro: micrograph classifier",
        [("Held-out test", summary),
         ("Confusion matrix (test)", _img(_confusion_plot(np.array(scores["confusion_matrix"]), clf.classes_), "confusion")),
         ("Misclassified test images", note + figures),
         ("Training", _img(_history_plot(clf.history_, "accuracy"), "training curves"))],
    )


def segmenter_report(path, seg, examples: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray]]) -> None:
    """report.html of a segmenter run: IoU/Dice per class, overlays of test images, training curves.

    `examples` holds (name, image, true mask, predicted mask) of test images.
    """
    scores = seg.metrics_["test"]
    rows = "".join(
        f"<tr><td>{html.escape(str(c))}</td><td>{scores['iou'][str(c)]:.4f}</td><td>{scores['dice'][str(c)]:.4f}</td></tr>"
        for c in seg.mask_values_
    )
    table = (f"<p>{seg.metrics_['protocol']['n_test']} held-out images; mean IoU {scores['mean_iou']:.4f}, "
             f"pixel accuracy {scores['pixel_accuracy']:.4f}.</p>"
             f"<table><tr><th>mask value</th><th>IoU</th><th>Dice</th></tr>{rows}</table>")
    figures = "".join(
        f"<figure>{_img(base64.b64encode(image_png(overlay(img, truth))).decode(), 'truth')}"
        f"{_img(base64.b64encode(image_png(overlay(img, pred))).decode(), 'prediction')}"
        f"<figcaption>{html.escape(name)}: truth (left), prediction (right)</figcaption></figure>"
        for name, img, truth, pred in examples[:MAX_EXAMPLES // 2]
    )
    write_html(
        path,
        "matforge micro: micrograph segmenter",
        [("Held-out test", table), ("Test images", figures or "<p>No test images.</p>"),
         ("Training", _img(_history_plot(seg.history_, "mean IoU"), "training curves"))],
    )
