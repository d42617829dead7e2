"""Clinical inputs: patient, donor, graft, HLA matching, risk scores, collection planning.

Submodules are imported explicitly (``from marrowsim.clinical.scores import hct_ci``); this
package file imports nothing heavy.
"""
