namespace Percept.Data;

/// <summary>
/// Where a dataset comes from, as the user names it: an IDX file, a <c>.npy</c> array, a CSV table or a folder of
/// images with one sub-folder per class. <see cref="Open"/> picks the reader from the path.
/// </summary>
public sealed record DataSource
{
    /// <summary>Samples: IDX file (.gz or plain), .npy, .csv, or a folder of class sub-folders.</summary>
    public required string Path { get; init; }

    /// <summary>Labels for IDX (an IDX label file) or .npy samples (a .npy vector).</summary>
    public string? LabelsPath { get; init; }

    /// <summary>Label column of a CSV table (default: a column named <c>label</c>).</summary>
    public string? LabelColumn { get; init; }

    /// <summary>Text file with one class name per line (index = label).</summary>
    public string? ClassNamesPath { get; init; }

    /// <summary>For models that take token ids: a text file with one token per line (line number = id), to show samples as text.</summary>
    public string? VocabularyPath { get; init; }

    /// <summary>Split name stored with every sample (default: guessed from the file name, else "all").</summary>
    public string? Split { get; init; }

    /// <summary>Fail on an image that does not decode instead of skipping it.</summary>
    public bool Strict { get; init; }

    /// <summary>Image size for image folders when the model's input size is free.</summary>
    public int? ImageSize { get; init; }

    /// <summary>Opens the dataset. <paramref name="modelSampleShape"/> sizes decoded images; warnings go to <paramref name="warn"/>.</summary>
    public IDataset Open(int[] modelSampleShape, PreprocessOptions preprocess, Action<string>? warn = null)
    {
        IReadOnlyList<string>? classes = null;
        if (ClassNamesPath != null)
        {
            if (!File.Exists(ClassNamesPath)) throw new PerceptException($"file not found: {ClassNamesPath}");
            classes = File.ReadAllLines(ClassNamesPath).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        }
        if (Directory.Exists(Path))
        {
            if (LabelsPath != null) throw new PerceptException($"{Terms.Option("labels")} does not apply to an image folder: its sub-folders are the classes");
            var (h, w, c) = Preprocessor.ImageTarget(modelSampleShape, preprocess, ImageSize);
            return new ImageFolderDataset(Path, w, h, c, Strict, warn, Split);
        }
        if (!File.Exists(Path)) throw new PerceptException($"file not found: {Path}");
        if (LabelsPath != null && !File.Exists(LabelsPath)) throw new PerceptException($"file not found: {LabelsPath}");
        string ext = System.IO.Path.GetExtension(Path).ToLowerInvariant();
        return ext switch
        {
            ".npy" => new NpyDataset(Path, LabelsPath, classes, Split),
            ".csv" => LabelsPath != null
                ? throw new PerceptException($"{Terms.Option("labels")} does not apply to a CSV table; name its label column with {Terms.Option("label-column")}")
                : new CsvDataset(Path, LabelColumn, classes, Split),
            _ => new IdxDataset(Path, LabelsPath, classes, Split),
        };
    }
}
