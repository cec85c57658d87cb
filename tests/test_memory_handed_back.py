"""Each stage hands its memory back before the next: the select stage's model is collected
before the stage finishes (on a GPU its cached blocks then go back with empty_cache)."""

from __future__ import annotations

import gc
import weakref

from test_selection_probe import make_recipe, probe_files, run  # noqa: F401 (fixture)


def test_select_stage_frees_its_model_before_it_writes_the_selection(tiny_llama_dir, probe_files, tmp_path, monkeypatch):  # noqa: F811
    import harness.models
    import harness.selection.stage as stage

    loaded = []
    real_load = harness.models.load_model

    def load_and_watch(*args, **kwargs):
        model = real_load(*args, **kwargs)
        loaded.append(weakref.ref(model))
        return model

    alive_at_plots = []
    real_plots = stage.write_plots

    def plots_and_check(*args, **kwargs):
        alive_at_plots.append([ref() is not None for ref in loaded])
        return real_plots(*args, **kwargs)

    released = []
    monkeypatch.setattr(harness.models, "load_model", load_and_watch)
    monkeypatch.setattr(harness.models, "release_memory", lambda: (gc.collect(), released.append(True)))
    monkeypatch.setattr(stage, "write_plots", plots_and_check)
    out = run(make_recipe(tiny_llama_dir, probe_files, {"policy": "first_k", "k": 2}, always=True, batch_size=2), tmp_path)
    assert len(loaded) == 1 and released == [True]
    assert alive_at_plots == [[False]]  # collected while the stage was still running
    assert (out / "selection.json").exists()
