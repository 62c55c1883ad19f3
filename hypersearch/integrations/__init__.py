"""Optional integrations with other libraries.

Each integration lives in its own submodule and needs its library, so nothing
is imported here; import the one you use directly:

* :mod:`hypersearch.integrations.sklearn`: ``HyperSearchCV``, a scikit-learn
  search estimator whose cross-validation folds can be pruned by a scheduler
  (``pip install 'hypersearch[sklearn]'``).
* :mod:`hypersearch.integrations.pytorch`: ``TrialReporter`` /
  ``report_and_prune`` to report and prune from a plain PyTorch training loop,
  in define-by-run objectives and in ``hs.tune`` trainables (``pip install
  'hypersearch[torch]'``).
* :mod:`hypersearch.integrations.lightning`: ``PruningCallback``, a Lightning
  callback that reports a monitored metric and stops pruned trials
  (``pip install 'hypersearch[lightning]'``).
* :mod:`hypersearch.integrations.transformers`: Hugging Face Transformers.
* :mod:`hypersearch.integrations.mlflow`: MLflow tracking.
* :mod:`hypersearch.integrations.tensorboard`: TensorBoard logging.
"""
