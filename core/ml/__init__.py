"""The model registry every machine-learned model of the product uses (fraud, churn): `registry`."""
