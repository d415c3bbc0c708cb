"""Caseroom: a need-to-know workspace for the professionals around one child."""
