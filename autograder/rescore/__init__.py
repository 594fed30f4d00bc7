"""Re-scoring students' checkpoints with their own Network (`facekit grade-model`)."""
