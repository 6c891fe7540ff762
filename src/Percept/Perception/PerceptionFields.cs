using Percept.Store;

namespace Percept.Perception;

/// <summary>The fields the perception stage writes into a run: the samples table's columns, the model's outputs, each layer's pooled activations and the perception vectors.</summary>
public static class PerceptionFields
{
    const string Owner = "Perception";
    const string NoClassScores = "the model's output is not a class-score vector";

    static Field Column(string name, FieldType type, FieldKind kind, string description) =>
        new() { Name = name, Type = type, Layout = FieldLayout.Column, Kind = kind, Owner = Owner, Description = description };

    /// <summary>The store's key column (every samples table starts with it and <see cref="Id"/>).</summary>
    public static readonly Field Index = SampleKeys.IndexField;
    public static readonly Field Id = SampleKeys.IdField;
    public static readonly Field Split = Column("split", FieldType.Text, FieldKind.Category, "the dataset's split (train, test, …)");
    public static readonly Field Label = Column("label", FieldType.Int32, FieldKind.Category, "the given class (null: unlabelled)") with { ClassCodes = true };
    public static readonly Field LabelName = Column("label_name", FieldType.Text, FieldKind.Text, "the given class's name");
    public static readonly Field Prediction = Column("prediction", FieldType.Int32, FieldKind.Category, "the model's class (null: no class scores, or non-finite outputs)") with { ClassCodes = true };
    public static readonly Field PredictionName = Column("prediction_name", FieldType.Text, FieldKind.Text, "the model's class's name");
    public static readonly Field Correct = Column("correct", FieldType.Bool, FieldKind.Category, "whether the prediction is the label (null: unlabelled)") with { Categories = ["incorrect", "correct"] };
    public static readonly Field Confidence = Column("confidence", FieldType.Float32, FieldKind.Number, "the predicted class's probability");
    public static readonly Field Margin = Column("margin", FieldType.Float32, FieldKind.Number, "the top probability minus the second");
    public static readonly Field Entropy = Column("entropy", FieldType.Float32, FieldKind.Number, "the entropy of the class probabilities, in nats");
    public static readonly Field Loss = Column("loss", FieldType.Float32, FieldKind.Number, "cross-entropy of the label (null: unlabelled)");
    public static readonly Field MeanIntensity = Column("mean_intensity", FieldType.Float32, FieldKind.Number, "the mean of the sample's input values (null for token ids)");

    /// <summary>The samples table's columns, in order.</summary>
    public static readonly IReadOnlyList<Field> Columns =
        [Index, Id, Split, Label, LabelName, Prediction, PredictionName, Correct, Confidence, Margin, Entropy, Loss, MeanIntensity];

    public static readonly Field Logits = new()
    {
        Name = "logits", Type = FieldType.Float32, Owner = Owner,
        Description = "N × classes: the model's logits (the log of its probabilities when it outputs probabilities)",
        Absent = NoClassScores,
    };
    public static readonly Field Probabilities = new()
    {
        Name = "probabilities", Type = FieldType.Float32, Owner = Owner, Description = "N × classes: class probabilities", Absent = NoClassScores,
    };
    public static readonly Field Outputs = new()
    {
        Name = "outputs", Type = FieldType.Float32, Owner = Owner,
        Description = "N × width: the model's output as it is, when it is not a class-score vector",
        Absent = "the model's output is a class-score vector (see logits and probabilities)",
    };
    public static readonly Field Embedding = new()
    {
        Name = "embedding", Type = FieldType.Float32, Owner = Owner,
        Description = "N × width: the perception vectors (standardised, weighted, concatenated pooled layers; projected when wider than the limit)",
    };
    /// <summary>A family: <c>layer:NAME</c>, one per perceived layer.</summary>
    public static readonly Field Layer = new()
    {
        Name = "layer", IsFamily = true, Type = FieldType.Float32, Owner = Owner,
        Description = "N × channels: one layer's activations pooled over space",
    };
    /// <summary>A family: <c>layer_stats:NAME</c>, 2 × channels, a layer's feature means (row 0) and standard deviations (row 1).</summary>
    public static readonly Field LayerStats = new()
    {
        Name = "layer_stats", IsFamily = true, Type = FieldType.Float32, PerSample = false, Kind = FieldKind.Other, Owner = Owner,
        Description = "2 × channels: one layer's feature means and standard deviations over the dataset",
    };
    public static readonly Field Vocabulary = new()
    {
        Name = "vocabulary", Type = FieldType.Text, Layout = FieldLayout.Document, Kind = FieldKind.Other, PerSample = false, Owner = Owner,
        Description = "a text model's vocabulary, one token per line (line number = token id)",
    };

    public static readonly Field ShardStatistics = new()
    {
        Name = "shard_statistics", Type = FieldType.Json, Layout = FieldLayout.Document, Kind = FieldKind.Other, PerSample = false, Owner = Owner,
        Description = "in a shard of an analysis (not a run): each layer's feature statistics per segment of its slice (count, means and sums of squared deviations, double precision), for the merge",
    };

    /// <summary>Every field this stage declares.</summary>
    public static IReadOnlyList<Field> All => [.. Columns, Logits, Probabilities, Outputs, Embedding, Layer, LayerStats, Vocabulary, ShardStatistics];
}
