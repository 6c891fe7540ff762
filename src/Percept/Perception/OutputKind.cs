namespace Percept.Perception;

/// <summary>How to read the model's output.</summary>
public enum OutputKind
{
    /// <summary>Probabilities when the graph ends in Softmax (or the rows are distributions), logits otherwise.</summary>
    Auto,
    Logits,
    Probabilities,
}
