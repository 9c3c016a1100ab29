"""Provenance reference data: ``jpeg_tables.toml``, JPEG quantisation tables of known cameras
and programs, each entry citing its source (format: ``needle.provenance.quantization``). This
package holds no code.
"""
