//! The shape of the aggregation tree for a batch of chunk proofs.
//!
//! Every node of a layer aggregates exactly [`FAN_IN`] proofs of the layer below (the
//! aggregation circuit is fixed per layer, including how many proofs it verifies), so the
//! chunk count is padded up to a power of the fan-in with **padding chunks**: chunks of
//! no-op slots after the batch's last step, which keep the root and the transaction
//! commitment unchanged. The top Poseidon-transcript node is then wrapped by one final
//! node with a Keccak transcript, the proof the EVM verifies.

/// Proofs each intermediate node aggregates.
pub const FAN_IN: usize = 2;

/// Layers and padding for `chunks` chunk proofs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreePlan {
    /// Chunks of the batch (real ones).
    pub chunks: usize,
    /// Chunk proofs at the leaves: `chunks` padded to a power of [`FAN_IN`], at least
    /// [`FAN_IN`].
    pub leaves: usize,
    /// Poseidon-transcript layers (1: aggregates the chunk proofs), before the final one.
    pub layers: u32,
}

impl TreePlan {
    /// The plan for `chunks` chunk proofs (at least one).
    pub fn new(chunks: usize) -> Self {
        let chunks = chunks.max(1);
        let mut leaves = FAN_IN;
        let mut layers = 1;
        while leaves < chunks {
            leaves *= FAN_IN;
            layers += 1;
        }
        Self {
            chunks,
            leaves,
            layers,
        }
    }

    /// Padding chunks proven after the real ones.
    pub fn padding(&self) -> usize {
        self.leaves - self.chunks
    }

    /// Nodes in Poseidon layer `layer` (1-based).
    pub fn nodes(&self, layer: u32) -> usize {
        self.leaves / FAN_IN.pow(layer)
    }

    /// Chunks (leaves, padding included) below node `index` of `layer`: first and count.
    pub fn span(&self, layer: u32, index: usize) -> (usize, usize) {
        let width = FAN_IN.pow(layer);
        (index * width, width)
    }

    /// Every proof the batch needs, bottom-up: `(layer, index)`, layer 0 being chunk proofs
    /// and `layers + 1` the final one.
    pub fn proofs(&self) -> Vec<(u32, usize)> {
        let mut out: Vec<(u32, usize)> = (0..self.leaves).map(|i| (0, i)).collect();
        for layer in 1..=self.layers {
            out.extend((0..self.nodes(layer)).map(|i| (layer, i)));
        }
        out.push((self.layers + 1, 0));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_of_the_fan_in() {
        let p = TreePlan::new(1);
        assert_eq!((p.leaves, p.layers, p.padding()), (2, 1, 1));
        let p = TreePlan::new(2);
        assert_eq!((p.leaves, p.layers, p.padding()), (2, 1, 0));
        let p = TreePlan::new(3);
        assert_eq!((p.leaves, p.layers, p.padding()), (4, 2, 1));
        let p = TreePlan::new(8);
        assert_eq!((p.leaves, p.layers, p.padding()), (8, 3, 0));
        assert_eq!((p.nodes(1), p.nodes(2), p.nodes(3)), (4, 2, 1));
        assert_eq!(p.span(2, 1), (4, 4));
        // 8 chunk proofs, 4 + 2 + 1 aggregation proofs, one final proof.
        assert_eq!(p.proofs().len(), 8 + 7 + 1);
        assert_eq!(p.proofs().last(), Some(&(4, 0)));
        assert_eq!(TreePlan::new(0), TreePlan::new(1));
    }
}
