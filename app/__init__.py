"""Benchtop's Qt front-end: thin views over backend state. The only package that imports Qt."""
