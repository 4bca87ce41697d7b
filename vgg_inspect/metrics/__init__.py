"""Numbers from traces (pure Python): compute (MACs/FLOPs, --include, --train), memory conventions,
receptive-field algebra and the 3x3-versus-large-kernel comparisons. A new metric goes here as a
function of ``LayerTrace`` lists; the report builder calls it."""
