//! The shape of the aggregation tree for a batch of chunk proofs.
//!
//! Every node of a layer aggregates exactly [`Shape::fan_in`] proofs of the layer below (the
//! aggregation circuit is fixed per layer, including how many proofs it verifies), so the
//! chunk count is padded up to a power of the fan-in with **padding chunks**: chunks of
//! no-op slots after the batch's last step, which keep the root and the transaction
//! commitment unchanged.
//!
//! The proof the EVM verifies (Keccak transcript, the batch's constraints) is made one of two
//! ways ([`Shape::wrap`]):
//! - **wrapped**: the Poseidon-transcript layers reduce the batch to one proof, and one final
//!   node over that single proof re-proves it in a thin circuit (few columns at a chosen `k`:
//!   a cheaper L1 verifier, one proof more);
//! - **top**: the top node of the tree is itself the final proof (one proof fewer; its
//!   verifier costs what its circuit's columns cost).

/// Proofs each intermediate node aggregates by default.
pub const FAN_IN: usize = 2;

/// How the tree is built: fixed per deployment (the L1 verifier depends on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Proofs per node (2 or more).
    pub fan_in: usize,
    /// A one-proof final node over the top node (true), or the top node is the final proof.
    pub wrap: bool,
}

impl Default for Shape {
    /// Fan-in 2, the top node as the final proof: the fastest tree measured on the reference
    /// machine at the same L1 gas (docs/benchmarks.md, "Aggregation tree shapes").
    fn default() -> Self {
        Self {
            fan_in: FAN_IN,
            wrap: false,
        }
    }
}

/// Layers and padding for a batch of chunk proofs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreePlan {
    /// Chunks of the batch (real ones).
    pub chunks: usize,
    /// Chunk proofs at the leaves: `chunks` padded to a power of the fan-in, at least the
    /// fan-in.
    pub leaves: usize,
    /// Poseidon-transcript layers (1: aggregates the chunk proofs) below the final layer,
    /// which is layer `layers + 1`. Without a wrapper the final node is the tree's top node,
    /// and `layers` is 0 when it aggregates the chunk proofs directly.
    pub layers: u32,
    /// The tree's shape.
    pub shape: Shape,
}

impl TreePlan {
    /// The plan for `chunks` chunk proofs (at least one) in a tree of `shape` (a fan-in
    /// below 2 is taken as 2).
    pub fn new(chunks: usize, shape: Shape) -> Self {
        let shape = Shape {
            fan_in: shape.fan_in.max(2),
            ..shape
        };
        let chunks = chunks.max(1);
        let mut leaves = shape.fan_in;
        let mut levels = 1;
        while leaves < chunks {
            leaves *= shape.fan_in;
            levels += 1;
        }
        Self {
            chunks,
            leaves,
            layers: if shape.wrap { levels } else { levels - 1 },
            shape,
        }
    }

    /// Padding chunks proven after the real ones.
    pub fn padding(&self) -> usize {
        self.leaves - self.chunks
    }

    /// Nodes in layer `layer` (1-based; `layers + 1`, the final layer, has one).
    pub fn nodes(&self, layer: u32) -> usize {
        if layer > self.layers {
            1
        } else {
            self.leaves / self.shape.fan_in.pow(layer)
        }
    }

    /// Proofs one node of `layer` aggregates.
    pub fn fan_in(&self, layer: u32) -> usize {
        if layer > self.layers && self.shape.wrap {
            1
        } else {
            self.shape.fan_in
        }
    }

    /// Chunks (leaves, padding included) below node `index` of `layer`: first and count.
    pub fn span(&self, layer: u32, index: usize) -> (usize, usize) {
        if layer > self.layers {
            return (0, self.leaves);
        }
        let width = self.shape.fan_in.pow(layer);
        (index * width, width)
    }

    /// Every proof the batch needs, bottom-up: `(layer, index)`, layer 0 being chunk proofs
    /// and `layers + 1` the final one.
    pub fn proofs(&self) -> Vec<(u32, usize)> {
        let mut out: Vec<(u32, usize)> = (0..self.leaves).map(|i| (0, i)).collect();
        for layer in 1..=self.layers + 1 {
            out.extend((0..self.nodes(layer)).map(|i| (layer, i)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRAPPED: Shape = Shape {
        fan_in: 2,
        wrap: true,
    };

    #[test]
    fn powers_of_the_fan_in() {
        let p = TreePlan::new(1, WRAPPED);
        assert_eq!((p.leaves, p.layers, p.padding()), (2, 1, 1));
        let p = TreePlan::new(2, WRAPPED);
        assert_eq!((p.leaves, p.layers, p.padding()), (2, 1, 0));
        let p = TreePlan::new(3, WRAPPED);
        assert_eq!((p.leaves, p.layers, p.padding()), (4, 2, 1));
        let p = TreePlan::new(8, WRAPPED);
        assert_eq!((p.leaves, p.layers, p.padding()), (8, 3, 0));
        assert_eq!(
            (p.nodes(1), p.nodes(2), p.nodes(3), p.nodes(4)),
            (4, 2, 1, 1)
        );
        assert_eq!((p.fan_in(3), p.fan_in(4)), (2, 1));
        assert_eq!(p.span(2, 1), (4, 4));
        assert_eq!(p.span(4, 0), (0, 8));
        // 8 chunk proofs, 4 + 2 + 1 aggregation proofs, one final proof.
        assert_eq!(p.proofs().len(), 8 + 7 + 1);
        assert_eq!(p.proofs().last(), Some(&(4, 0)));
        assert_eq!(TreePlan::new(0, WRAPPED), TreePlan::new(1, WRAPPED));
    }

    #[test]
    fn the_top_node_as_the_final_proof() {
        let top = |fan_in| Shape {
            fan_in,
            wrap: false,
        };
        // Two chunks: the final node aggregates them directly.
        let p = TreePlan::new(2, top(2));
        assert_eq!((p.leaves, p.layers, p.nodes(1), p.fan_in(1)), (2, 0, 1, 2));
        assert_eq!(p.proofs(), vec![(0, 0), (0, 1), (1, 0)]);
        // Four chunks, fan-in 2: two layer-1 nodes, then the final node over both.
        let p = TreePlan::new(4, top(2));
        assert_eq!(
            (p.layers, p.nodes(1), p.nodes(2), p.fan_in(2)),
            (1, 2, 1, 2)
        );
        assert_eq!(p.span(1, 1), (2, 2));
        assert_eq!(p.proofs().len(), 4 + 2 + 1);
        // Four chunks, fan-in 4: one node, the final one; three chunks are padded to four.
        let p = TreePlan::new(3, top(4));
        assert_eq!((p.leaves, p.layers, p.padding(), p.fan_in(1)), (4, 0, 1, 4));
        assert_eq!(p.span(1, 0), (0, 4));
        // Five chunks, fan-in 4: 16 leaves, four layer-1 nodes, the final node over them.
        let p = TreePlan::new(5, top(4));
        assert_eq!((p.leaves, p.layers, p.nodes(1)), (16, 1, 4));
        assert_eq!(TreePlan::new(2, top(1)).shape.fan_in, 2);
    }
}
