"""Submission CSV validation and scoring: accuracy, ROC AUC, EER, TAR@FAR; grades; Kaggle bundle."""
