"""Anomaly detection: models of normal behaviour learnt from logs, and the detector that
turns departures from them into explained alerts.

``web`` (per-site request profiles), ``tabular`` (connection records: scikit-learn
scaler and PCA), ``entity`` (per source address, user and host windows against their own
or their peer group's baseline), ``models`` (training, thresholds from training data
only, loading), ``artefact`` (saved models with schema, training window, versions and
threshold; mismatches refused), ``explain`` (reasons), ``stats`` (running mean and
variance), ``detector`` (the pipeline ``Detector``), ``schedule`` (retraining on a schedule). See ``docs/anomaly.md``.
"""
