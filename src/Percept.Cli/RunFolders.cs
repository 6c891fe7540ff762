namespace Percept.Cli;

/// <summary>The run a command names: a run folder, or a training folder, which stands for its last epoch.</summary>
static class RunFolders
{
    public static Store.Run Open(string folder, Store.RunLocations? locations = null) =>
        Store.Run.Open(Training.IsTraining(folder) ? Training.EpochDirectory(folder) : folder, locations);
}
