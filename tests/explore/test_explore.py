import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score
from tests.conftest import fcc_cell

from matforge.cli.app import main
from matforge.explore import explore


def test_explore_writes_tables_and_a_self_contained_page(tmp_path, families):
    result = explore(families, tmp_path / "out", target="target", method="hierarchical", k="auto")
    folder = tmp_path / "out"
    clusters = pd.read_csv(folder / "clusters.csv")
    assert clusters.columns.tolist() == ["row", "formula", "cluster", "pca_1", "pca_2", "target"]
    assert clusters["row"].tolist() == list(range(len(families)))
    assert adjusted_rand_score(families["family"], clusters["cluster"]) >= 0.9
    summary = pd.read_csv(folder / "summary.csv")
    assert summary["size"].sum() == len(families) and len(summary) == 4
    stainless = summary[summary["top_elements"].str.contains("Fe:100%")]
    assert len(stainless) == 1 and stainless["target_mean"].iloc[0] == pytest.approx(0.0, abs=0.5)
    outliers = pd.read_csv(folder / "outliers.csv")
    assert {"outlier_score", "is_outlier", "duplicate_group", "conflicting_target"} <= set(outliers.columns)
    page = (folder / "explore.html").read_text()
    assert page.count("data:image/png;base64,") >= 4 + 3  # 2 maps, k choice, dendrogram, scree, 4 periodic tables
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert result.clustering.linkage is not None


def test_categorical_target_drives_lda_map(tmp_path, families):
    result = explore(families, None, target="family", embedding="lda", k=4)
    assert result.target_is_categorical and result.embedding.axes == ("LD1", "LD2")
    assert "majority_class" in result.summary.columns
    assert (result.summary["majority_share"] == 1.0).all()


def test_table_without_formulas_uses_numeric_columns():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(np.r_[rng.normal(0, 1, (30, 3)), rng.normal(8, 1, (30, 3))], columns=["T_K", "t_h", "p_MPa"])
    result = explore(frame, None, k="auto")
    assert result.features.startswith("numeric columns") and result.clustering.n_clusters == 2


def test_cli_explore_runs_and_reports_bad_input(tmp_path, families):
    data = tmp_path / "materials.csv"
    families.to_csv(data, index=False)
    assert main(["explore", str(data), "--target", "target", "--method", "kmeans", "--k", "4", "--out", str(tmp_path / "run")]) == 0
    assert (tmp_path / "run" / "explore.html").exists()
    assert main(["explore", str(data), "--method", "spectral", "--out", str(tmp_path / "bad")]) == 2
    assert main(["explore", str(data), "--target", "missing", "--out", str(tmp_path / "bad")]) == 2
    assert main(["explore", str(data), "--contamination", "2", "--out", str(tmp_path / "bad")]) == 2
    assert main(["explore", str(data), "--out", str(data)]) == 2
    assert not (tmp_path / "bad").exists()


def test_bad_formula_names_its_row(tmp_path, families):
    frame = families.copy()
    frame.loc[7, "formula"] = "Xx2O3"
    data = tmp_path / "bad.csv"
    frame.to_csv(data, index=False)
    from matforge.errors import InputError

    with pytest.raises(InputError, match="7"):
        explore(data, None, formula_col="formula")


def test_describe_clusters_names_what_sets_each_cluster_apart():
    from matforge.explore import describe_clusters

    formulas = np.array(["Fe0.9Co0.05Ni0.05", "Fe0.88Co0.07Ni0.05", "Fe0.9Co0.01Ni0.09", "Fe0.88Co0.02Ni0.1"])
    summary, presence = describe_clusters(np.array([0, 0, 1, 1]), formulas, pd.Series([1.0, 3.0, 5.0, 5.0]))
    assert summary["top_elements"].str.contains("Fe:100%").all()  # every steel holds every element...
    assert summary.loc[0, "enriched_elements"].startswith("Co:+") and summary.loc[1, "enriched_elements"].startswith("Ni:+")
    assert summary["target_mean"].tolist() == [2.0, 5.0] and summary["target_std"].tolist() == [1.0, 0.0]
    assert presence.shape == (2, 118) and presence[0, 25] == 1.0  # Fe, atomic number 26


def test_a_structure_column_is_explored_with_structure_descriptors():
    """One composition in two densities (a pressure series): composition features cannot tell them apart,
    the structure descriptors can, so k-means finds the two."""
    import numpy as np
    import pandas as pd

    from matforge.explore import explore

    rng = np.random.default_rng(0)
    lattices = np.r_[rng.uniform(4.6, 4.8, 10), rng.uniform(6.2, 6.4, 10)]
    table = pd.DataFrame({"structure": [str(fcc_cell(a, "Na", "Cl").as_dict()) for a in lattices]})
    result = explore(table, k=2, seed=0)
    assert "structure descriptors" in result.features and "min nn_distance" in result.features_table.columns
    labels = result.clusters["cluster"].to_numpy()
    assert len(set(labels[:10])) == 1 and len(set(labels[10:])) == 1 and labels[0] != labels[10]
    assert set(result.clusters["formula"]) == {"NaCl"}
