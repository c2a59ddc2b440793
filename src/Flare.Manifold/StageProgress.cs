namespace Flare.Manifold;

/// <summary>Progress of a long computation: the stage running now and how far it is, from 0 to 1.</summary>
public readonly record struct StageProgress(string Stage, double Fraction);
