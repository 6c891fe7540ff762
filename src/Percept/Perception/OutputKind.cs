namespace Percept.Perception;

/// <summary>How to read the model's output.</summary>
public enum OutputKind
{
    /// <summary>
    /// Class scores unless the output is a feature vector: shaped as a pooled feature map (<c>[N, C, 1, 1]</c>) or made by
    /// a pooling or a normalisation (<see cref="Model.OnnxModel.IsFeatureOutput"/>), and not as wide as the class names
    /// given. Class scores are probabilities when the graph ends in Softmax (or the rows are distributions), else logits.
    /// </summary>
    Auto,
    Logits,
    Probabilities,
    /// <summary>Not class scores: an embedding or features (no accuracy or loss is claimed; the output is kept as the <c>outputs</c> field).</summary>
    Embedding,
}
