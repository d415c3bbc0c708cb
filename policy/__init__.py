"""The need-to-know policy (caseroom.polar) and the one module that imports Oso."""
